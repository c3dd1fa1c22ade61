/**
 * The webhook event: what sigctl POSTs to a receiver when something happens in a room. One schema
 * for the sender and for receivers (`WebhookEvent.parse(JSON.parse(body))` after `verifyWebhook`).
 */
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../protocol/webhook-events.js';

export { WEBHOOK_EVENT_TYPES };

export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** Why a member left: its own `leave`, a dropped connection, the end of its resume grace, an admin kick. */
export const WebhookLeftReason = z.enum(['leave', 'disconnect', 'timeout', 'kicked']);
export type WebhookLeftReason = z.infer<typeof WebhookLeftReason>;

export const WebhookMember = z.object({ id: z.string(), name: z.string().optional(), meta: z.record(z.string(), z.unknown()).optional() });
export type WebhookMember = z.infer<typeof WebhookMember>;

export const WebhookEvent = z.object({
  /** Unique per fact (not per attempt): receivers deduplicate retries by it. */
  id: z.string().min(1),
  type: WebhookEventType,
  /** ISO 8601 time the fact happened on `node`. */
  createdAt: z.string(),
  /** The node that owns the fact and sends the event (one event per fact across a cluster). */
  node: z.string(),
  room: z.object({ id: z.string(), capacity: z.number().int().nonnegative(), members: z.number().int().nonnegative() }),
  member: WebhookMember.optional(),
  reason: WebhookLeftReason.optional(),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;
