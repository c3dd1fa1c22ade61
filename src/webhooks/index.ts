/** Webhooks: room events signed and delivered to receivers (docs/operations.md). */
export { WEBHOOK_EVENT_TYPES, WebhookEvent, WebhookEventType, WebhookLeftReason, WebhookMember } from './event.js';
export { signWebhook, verifyWebhook, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TOLERANCE_SECONDS, type VerifyWebhookInput, type WebhookVerdict } from './signature.js';
export { WEBHOOK_BACKOFF, WebhookDelivery, type WebhookDeliveryOptions, type WebhookOutcome, type WebhookReceiver } from './delivery.js';
