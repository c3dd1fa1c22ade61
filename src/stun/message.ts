/**
 * src/stun/: sigctl's UDP STUN/TURN code, apart from the WebSocket signaling it sits beside.
 *
 *   message.ts     the STUN message framing (RFC 5389 sections 6 and 15), shared by the two below;
 *                  only encoding lives here, each side parses what it expects
 *   responder.ts   the built-in STUN Binding responder `serve` runs on `stunPort`
 *   turn-probe.ts  the TURN credential check of `peer --relay-only` (one Allocate)
 *
 * Layering: a leaf beside auth/store, under its two users and over protocol only:
 * cli -> server (responder) / peer (turn-probe) -> stun -> protocol (error codes). Nothing here
 * imports from server, peer, auth or cli, and nothing here loads werift.
 */
import { createHmac } from 'node:crypto';

/** Section 6: the fixed cookie that tells STUN from other traffic on a port. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
/** Type, length, cookie and the 96-bit transaction id. */
export const STUN_HEADER_BYTES = 20;
/** Section 15.4. */
const MESSAGE_INTEGRITY = 0x0008;

/** One attribute: type, length, and the value padded to a multiple of 4 bytes (section 15). */
export function stunAttribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

/**
 * A whole message. With `integrityKey`, MESSAGE-INTEGRITY (HMAC-SHA1 over everything before it,
 * with the header's length already counting it) is appended, as section 15.4 requires.
 */
export function stunMessage(type: number, transactionId: Buffer, attrs: readonly Buffer[], integrityKey?: Buffer): Buffer {
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(STUN_HEADER_BYTES);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length + (integrityKey === undefined ? 0 : 24), 2);
  header.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  const msg = Buffer.concat([header, body]);
  if (integrityKey === undefined) return msg;
  return Buffer.concat([msg, stunAttribute(MESSAGE_INTEGRITY, createHmac('sha1', integrityKey).update(msg).digest())]);
}
