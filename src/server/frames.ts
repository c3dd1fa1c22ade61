/**
 * Inbound frame parsing (validated with the protocol schemas, never cast) and outbound frame
 * encoding. Outbound frames are serialised once per message and handed to every recipient as is.
 * A relayed signal is built as a Buffer around the `data` bytes the sender sent (see relayFrame);
 * the relay hot path parses with scanSignal (signal-scan.ts) and comes here only for the rest.
 */
import type { z } from 'zod';
import { ROOM_ID_PATTERN, JoinMessage, LeaveMessage, MessageId, MetaMessage, PingMessage, SignalMessage } from '../protocol/messages.js';
import type { ClientMessage, ErrorMessage, PeerInfo, PeerLeftReason, ServerMessage } from '../protocol/messages.js';
import type { MemberRecord } from '../store/store.js';
import type { SignalMessage as SignalMessageType } from '../protocol/messages.js';
import type { WireErrorCode } from '../protocol/errors.js';

/** A serialised server frame: a string, or the Buffer of a relayed signal (relayFrame). */
export type Frame = string | Buffer;

/** The frame as text (for a store queue or another node, which keep strings). */
export function frameText(frame: Frame): string {
  return typeof frame === 'string' ? frame : frame.toString('utf8');
}

const SCHEMAS: Readonly<Record<ClientMessage['type'], z.ZodType<ClientMessage>>> = {
  join: JoinMessage,
  signal: SignalMessage,
  meta: MetaMessage,
  leave: LeaveMessage,
  ping: PingMessage,
};

/** A validated client message, or the error code and message to answer it with. */
export type ParseResult =
  | { ok: true; msg: ClientMessage }
  | { ok: false; code: Extract<WireErrorCode, 'BAD_MESSAGE' | 'UNKNOWN_TYPE' | 'BAD_ROOM'>; message: string; re: MessageId | undefined };

function correlationId(obj: Record<string, unknown>): MessageId | undefined {
  const parsed = MessageId.safeParse(obj.id);
  return parsed.success ? parsed.data : undefined;
}

/** Parses and validates one client text frame. */
export function parseClientFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'BAD_MESSAGE', message: `invalid JSON: ${(err as Error).message}`, re: undefined };
  }
  return classifyClientValue(value);
}

/** Validates a value JSON.parse produced from one client frame. */
export function classifyClientValue(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'BAD_MESSAGE', message: 'a frame must be a JSON object', re: undefined };
  }
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string') {
    return { ok: false, code: 'BAD_MESSAGE', message: 'missing string field "type"', re: correlationId(obj) };
  }
  if (type === 'signal') {
    const fast = plainSignal(obj);
    if (fast !== undefined) return { ok: true, msg: fast };
  }
  const schema = Object.hasOwn(SCHEMAS, type) ? SCHEMAS[type as ClientMessage['type']] : undefined;
  if (schema === undefined) {
    return { ok: false, code: 'UNKNOWN_TYPE', message: `unknown message type ${JSON.stringify(type.slice(0, 64))}`, re: correlationId(obj) };
  }
  const parsed = schema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue === undefined || issue.path.length === 0 ? '' : `"${issue.path.join('.')}": `;
    return { ok: false, code: 'BAD_MESSAGE', message: `${type}: ${at}${issue?.message ?? 'invalid'}`, re: correlationId(obj) };
  }
  const msg = parsed.data;
  if (msg.type === 'join' && !ROOM_ID_PATTERN.test(msg.room)) {
    const shown = msg.room.length > 32 ? `${JSON.stringify(msg.room.slice(0, 32))}... (${msg.room.length} characters)` : JSON.stringify(msg.room);
    return { ok: false, code: 'BAD_ROOM', message: `room ${shown} must match ^[A-Za-z0-9._:-]{1,128}$`, re: msg.id };
  }
  return { ok: true, msg };
}

/**
 * The relay hot path: a signal frame with only the keys SignalMessage knows, each of the type the
 * schema requires, is accepted as it is, without building zod's output copy (having no other key,
 * it already is the schema's output). Anything else (unknown keys, a wrong type, a missing `data`)
 * returns undefined and goes through SignalMessage itself, which accepts or explains; so this
 * never accepts what the schema would refuse (test/unit/server-frames.test.ts checks the two agree).
 */
export function plainSignal(obj: Record<string, unknown>): SignalMessageType | undefined {
  return isPlainSignal(obj) ? obj : undefined;
}

function isPlainSignal(obj: Record<string, unknown>): obj is SignalMessageType {
  for (const k in obj) if (k !== 'type' && k !== 'data' && k !== 'to' && k !== 'id') return false;
  const { type, to, id, data } = obj;
  if (type !== 'signal' || data === undefined) return false;
  if (to !== undefined && (typeof to !== 'string' || to.length === 0 || to.length > 64)) return false;
  return id === undefined || (typeof id === 'string' && id.length <= 128) || (typeof id === 'number' && Number.isFinite(id));
}

/** Encodes a server frame once. */
export function encode(frame: ServerMessage): string {
  return JSON.stringify(frame);
}

/** Encodes a relayed signal without building an intermediate object. */
export function encodeSignal(from: string, data: unknown): string {
  return `${signalPrefix(from)}${JSON.stringify(data)}}`;
}

/** The bytes every signal relayed from `from` starts with: all of the frame up to `data`'s value. */
export function signalPrefix(from: string): string {
  return `{"type":"signal","from":${JSON.stringify(from)},"data":`;
}

const CLOSE_OBJECT = 0x7d;

/**
 * The relayed frame of a signal whose `data` value is the bytes [start, end) of the frame `raw`
 * the sender sent (scanSignal found and validated them): `prefix` (signalPrefix of the sender,
 * `prefixBytes` long in UTF-8), those bytes exactly as the sender wrote them, and `}`. Nothing is
 * re-serialised and no string is converted to a Buffer on the way out (like the floor's relay),
 * and a recipient's JSON.parse yields what a JSON.parse of the sender's frame gave for `data`.
 */
export function relayFrame(prefix: string, prefixBytes: number, raw: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(prefixBytes + (end - start) + 1);
  // Member ids are server-made base64url, so the prefix is ASCII (as many bytes as characters),
  // and a latin1 write is a plain copy where utf8 would encode.
  out.write(prefix, 0, prefixBytes, prefixBytes === prefix.length ? 'latin1' : 'utf8');
  raw.copy(out, prefixBytes, start, end);
  out[out.length - 1] = CLOSE_OBJECT;
  return out;
}

/** An error frame. */
export function errorFrame(code: WireErrorCode, message: string, re?: MessageId): ErrorMessage {
  return re === undefined ? { type: 'error', code, message } : { type: 'error', code, message, re };
}

// ---- one builder per membership frame the hub sends ------------------------------------------

/** The public view of a member record. */
export function info(r: MemberRecord): PeerInfo {
  return { id: r.id, name: r.name, meta: r.meta };
}

/** What a `joined` frame says: a new member's (join) or a returning one's (resume). */
export interface JoinedFacts {
  re: MessageId | undefined;
  room: string;
  self: MemberRecord;
  /** The other members. */
  peers: readonly MemberRecord[];
  capacity: number;
  resumeToken: string;
  resumed: boolean;
}

/** The encoded `joined` frame (throws only if a record cannot be encoded, which bounded input rules out). */
export function joinedFrame(f: JoinedFacts): string {
  return encode({
    type: 'joined',
    ...(f.re === undefined ? {} : { re: f.re }),
    room: f.room,
    self: info(f.self),
    peers: f.peers.map(info),
    capacity: f.capacity,
    resumeToken: f.resumeToken,
    ...(f.resumed ? { resumed: true } : {}),
  });
}

/** `peer-joined`, for the members already in the room. */
export function peerJoinedFrame(room: string, peer: MemberRecord): ServerMessage {
  return { type: 'peer-joined', room, peer: info(peer) };
}

/** `peer-updated` (with `re` for the member that set its meta). */
export function peerUpdatedFrame(room: string, peer: MemberRecord, re?: MessageId): ServerMessage {
  return { type: 'peer-updated', room, peer: info(peer), ...(re === undefined ? {} : { re }) };
}

/** `peer-left`. */
export function peerLeftFrame(room: string, peer: string, reason: PeerLeftReason): ServerMessage {
  return { type: 'peer-left', room, peer, reason };
}

/** The encoded `ready` frame: the room went from 1 to 2 members and `offerer` makes the offer. */
export function readyFrame(room: string, offerer: string, other: string): string {
  return encode({ type: 'ready', room, offerer, peers: [other, offerer] });
}

/** `left`, the answer to a `leave`. */
export function leftFrame(room: string, re: MessageId | undefined): ServerMessage {
  return { type: 'left', room, ...(re === undefined ? {} : { re }) };
}
