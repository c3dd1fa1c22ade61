/**
 * The sigctl library surface: the protocol v1 types and schemas and the signaling client. It does
 * not load werift; the werift peer (sessions, data channels, file transfer) is `sigctl/peer`.
 */
export * from './protocol/index.js';
export * from './client/index.js';
export { verifyWebhook, signWebhook, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TOLERANCE_SECONDS, type VerifyWebhookInput, type WebhookVerdict } from './webhooks/signature.js';
export { WEBHOOK_EVENT_TYPES, WebhookEvent, WebhookEventType, WebhookLeftReason, WebhookMember } from './webhooks/event.js';
