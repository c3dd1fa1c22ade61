/**
 * WebSocket close codes used by the server. 1000-1011 are RFC 6455 §7.4.1; 4000-4999 are ours.
 */
export const CloseCode = {
  NORMAL: 1000,
  /** Graceful shutdown: sent after a `bye` frame. */
  GOING_AWAY: 1001,
  /** WebSocket protocol violation (bad opcode, unmasked or fragmented control frame); sent by ws. */
  PROTOCOL_ERROR: 1002,
  /** A text frame that is not valid UTF-8; sent by ws. */
  INVALID_PAYLOAD: 1007,
  /** A raw relay client sent a binary frame (only text is relayed). */
  UNSUPPORTED_DATA: 1003,
  /** Protocol violation the server cannot recover from (binary frames are answered, not closed). */
  POLICY: 1008,
  /** Frame larger than `limits.maxFrameBytes`. */
  TOO_LARGE: 1009,
  /** Handling one of the connection's frames failed unexpectedly (the last-resort guard). */
  INTERNAL: 1011,
  /** Kept flooding after RATE_LIMITED warnings, or flooded WebSocket ping frames. */
  RATE_LIMITED: 4008,
  /** Did not read: its send buffer passed `limits.sendBufferBytes`. */
  SLOW_CONSUMER: 4009,
  /** Missed two heartbeats. */
  HEARTBEAT_TIMEOUT: 4010,
  /** The same member resumed on another connection; this one is superseded. */
  REPLACED: 4011,
  /** Redis lost the membership and the room filled before it was restored (MEMBERSHIP_LOST). */
  MEMBERSHIP_LOST: 4012,
  /** A raw relay client's join was refused; the close reason is the error code (ROOM_FULL, ...). */
  JOIN_REFUSED: 4013,
  /** The operator removed the member from its room (Hub.kick, closeRoom; error KICKED). */
  KICKED: 4014,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
