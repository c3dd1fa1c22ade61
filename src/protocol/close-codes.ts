/**
 * WebSocket close codes used by the server. 1000-1011 are RFC 6455 §7.4.1; 4000-4999 are ours.
 */
export const CloseCode = {
  NORMAL: 1000,
  /** Graceful shutdown: sent after a `bye` frame. */
  GOING_AWAY: 1001,
  /** Protocol violation the server cannot recover from (binary frames are answered, not closed). */
  POLICY: 1008,
  /** Frame larger than `limits.maxFrameBytes`. */
  TOO_LARGE: 1009,
  INTERNAL: 1011,
  /** Kept flooding after RATE_LIMITED warnings. */
  RATE_LIMITED: 4008,
  /** Did not read: its send buffer passed `limits.sendBufferBytes`. */
  SLOW_CONSUMER: 4009,
  /** Missed two heartbeats. */
  HEARTBEAT_TIMEOUT: 4010,
  /** The same member resumed on another connection; this one is superseded. */
  REPLACED: 4011,
  /** Redis lost the membership and the room filled before it was restored (MEMBERSHIP_LOST). */
  MEMBERSHIP_LOST: 4012,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
