/**
 * The webhook event types (docs/operations.md), in the order a room's life produces them. Defined
 * here, below config and webhooks, because both validate against it.
 */
export const WEBHOOK_EVENT_TYPES = ['room.started', 'room.ready', 'member.joined', 'member.updated', 'member.resumed', 'member.left', 'room.finished'] as const;
