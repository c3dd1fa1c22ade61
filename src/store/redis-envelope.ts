/**
 * Envelopes as they travel between nodes over Redis pub/sub: encoded by the publishing node,
 * decoded and checked by every receiver. A message that does not decode is another deployment's
 * bug (or a hand-made PUBLISH): the receiver logs it and drops it, it never reaches the hub.
 *
 * Wire format (docs/scaling.md, "Cross-node envelopes"): one PUBLISH carries every envelope a node
 * published to one room in one event-loop turn, in order:
 *
 *     E2 <origin> <boot>.<seq>[ skip:<node>,<node>][ room]\n
 *     <header length> <frame length>\n<header JSON><frame>      (once per envelope)
 *
 * `<boot>.<seq>` (the stamp) numbers a node's messages: `boot` is new each time the node's store
 * starts, `seq` grows by one per message. A receiver drops a message older than one it already
 * took from the same origin and room: a PUBLISH that outlived its deadline (its sender was told
 * UNAVAILABLE) and that the client library re-sent after a failover (Sentinel's rediscovery,
 * Cluster's redirections) would otherwise arrive after the sender's later signals.
 *
 * The header is the envelope without `origin` and `frame`; the frame travels as the sender built
 * it. Lengths count UTF-16 code units. Why: the frame is already serialised JSON, and embedding it
 * in a JSON envelope escaped every quote on the sender and unescaped it on each receiver; the
 * origin comes first so a node drops its own messages (it hears its own room channels) unparsed.
 * A JSON envelope (the format before E2) is still accepted.
 */
import { z } from 'zod';
import { EnvelopeControl, type Envelope } from './store.js';
import { CorruptRecordError } from './redis-records.js';

/**
 * The envelope fields every node understands. Loose: a field added by a newer node passes through
 * to the hub (which ignores what it does not know) instead of being stripped here.
 */
export const EnvelopeSchema = z.looseObject({
  room: z.string(),
  to: z.string().optional(),
  except: z.string().optional(),
  frame: z.string(),
  queue: z.boolean().optional(),
  origin: z.string(),
  moved: z.string().optional(),
  handedOver: z.string().optional(),
  presence: z.object({ id: z.string(), present: z.boolean() }).optional(),
  control: EnvelopeControl.optional(),
});

const MAGIC = 'E2 ';

/** Where a message stands in its origin's sequence (see the module comment). */
export interface EnvelopeStamp {
  readonly boot: string;
  readonly seq: number;
}

/**
 * Options of a message's first line (node-links.ts): `skip`, the nodes that get this message over
 * a direct link instead (they drop the Redis copy); `room`, a room channel's message that travels
 * on a link or a node channel (not a signal addressed to that node alone).
 */
export interface MessageOptions {
  readonly skip?: readonly string[] | undefined;
  readonly room?: boolean | undefined;
}

/** The pub/sub message carrying `envelopes` (all from one origin, `origin`; one room). */
export function encodeEnvelopes(origin: string, envelopes: readonly Envelope[], stamp?: EnvelopeStamp, options?: MessageOptions): string {
  let out = stamp === undefined ? `${MAGIC}${origin}` : `${MAGIC}${origin} ${stamp.boot}.${stamp.seq}`;
  if (stamp !== undefined && options !== undefined) {
    if (options.skip !== undefined && options.skip.length > 0) out += ` skip:${options.skip.join(',')}`;
    if (options.room === true) out += ' room';
  }
  out += '\n';
  for (const env of envelopes) {
    const { frame, origin: _origin, ...header } = env;
    const h = JSON.stringify(header);
    out += `${h.length} ${frame.length}\n${h}${frame}`;
  }
  return out;
}

/** The first line of an E2 message, parsed (see MessageOptions). */
export interface MessageHead {
  readonly origin: string;
  readonly stamp: EnvelopeStamp | undefined;
  readonly skip: readonly string[] | undefined;
  readonly room: boolean;
}

/** The origin of a message in the E2 format, undefined for another format (cheap: no parsing). */
export function messageOrigin(message: string): string | undefined {
  if (!message.startsWith(MAGIC)) return undefined;
  const nl = message.indexOf('\n', MAGIC.length);
  if (nl < 0) return undefined;
  const sp = message.indexOf(' ', MAGIC.length);
  return message.slice(MAGIC.length, sp < 0 || sp > nl ? nl : sp);
}

/**
 * The stamp `<boot>.<seq>` in text[from, to): boot 1 to 32 lowercase hex digits, seq 1 to 15
 * decimal digits; undefined otherwise. Read in place (every message's first line has one).
 */
function stampAt(text: string, from: number, to: number): EnvelopeStamp | undefined {
  const dot = text.indexOf('.', from);
  if (dot <= from || dot >= to || dot - from > 32 || to - dot - 1 < 1 || to - dot - 1 > 15) return undefined;
  for (let i = from; i < dot; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return undefined;
  }
  let seq = 0;
  for (let i = dot + 1; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    seq = seq * 10 + d;
  }
  return { boot: text.slice(from, dot), seq };
}

/**
 * The first line of a message in the E2 format; undefined for another format. Unknown options are
 * ignored. Read field by field in place: it is parsed once per cross-node message.
 */
export function messageHead(message: string): MessageHead | undefined {
  if (!message.startsWith(MAGIC)) return undefined;
  const nl = message.indexOf('\n', MAGIC.length);
  if (nl < 0) return undefined;
  // Fields are separated by single spaces; [at, end) is the current one.
  let end = message.indexOf(' ', MAGIC.length);
  if (end < 0 || end > nl) end = nl;
  const origin = message.slice(MAGIC.length, end);
  let stamp: EnvelopeStamp | undefined;
  let skip: string[] | undefined;
  let room = false;
  for (let field = 1; end < nl; field++) {
    const at = end + 1;
    end = message.indexOf(' ', at);
    if (end < 0 || end > nl) end = nl;
    if (field === 1) stamp = stampAt(message, at, end);
    else if (message.startsWith('skip:', at)) skip = message.slice(at + 5, end).split(',');
    else if (end - at === 4 && message.startsWith('room', at)) room = true;
  }
  return { origin, stamp, skip, room };
}

/** The stamp of a message in the E2 format; undefined when it has none (or is another format). */
export function messageStamp(message: string): EnvelopeStamp | undefined {
  return messageHead(message)?.stamp;
}

/**
 * Whether a decoded header, completed with `origin` and `frame`, is an envelope of the common
 * shape: only the fields below, each of its type. Such an object is exactly what EnvelopeSchema
 * returns for it (a loose object of these fields; test/unit/store-envelope.test.ts compares the
 * two), so it is taken as is. Anything else (presence, control, a newer node's field, a wrong
 * type) goes through the schema, which accepts, passes through or explains it.
 */
function isPlainEnvelope(fields: Record<string, unknown>): fields is Record<string, unknown> & Envelope {
  for (const key in fields) {
    const v = fields[key];
    switch (key) {
      case 'room':
      case 'frame':
      case 'origin':
      case 'to':
      case 'except':
      case 'moved':
      case 'handedOver':
        if (typeof v !== 'string') return false;
        break;
      case 'queue':
        if (typeof v !== 'boolean') return false;
        break;
      default:
        return false;
    }
  }
  return typeof fields.room === 'string' && typeof fields.frame === 'string' && typeof fields.origin === 'string';
}

/** A plain object, as JSON.parse makes them (not an array, not null). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function check(value: unknown): Envelope {
  if (isRecord(value) && isPlainEnvelope(value)) return value;
  const parsed = EnvelopeSchema.safeParse(value);
  if (!parsed.success) throw new CorruptRecordError('envelope', parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}

/** The decimal number text[from, to) (1 to 9 ASCII digits), read in place: no substring, no regex. */
function count(text: string, from: number, to: number): number {
  if (to <= from || to - from > 9) throw new CorruptRecordError('envelope', 'bad length');
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw new CorruptRecordError('envelope', 'bad length');
    n = n * 10 + d;
  }
  return n;
}

/** The envelopes in a pub/sub message, in order; throws CorruptRecordError when any is malformed. */
export function decodeEnvelopes(message: string): Envelope[] {
  const origin = messageOrigin(message);
  if (origin === undefined) {
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      throw new CorruptRecordError('envelope', 'not JSON');
    }
    return [check(json)];
  }
  const out: Envelope[] = [];
  let i = message.indexOf('\n', MAGIC.length) + 1;
  while (i < message.length) {
    const sp = message.indexOf(' ', i);
    const nl = sp < 0 ? -1 : message.indexOf('\n', sp);
    if (nl < 0) throw new CorruptRecordError('envelope', 'truncated');
    const hlen = count(message, i, sp);
    const flen = count(message, sp + 1, nl);
    const start = nl + 1;
    if (start + hlen + flen > message.length) throw new CorruptRecordError('envelope', 'truncated');
    let header: unknown;
    try {
      header = JSON.parse(message.slice(start, start + hlen));
    } catch {
      throw new CorruptRecordError('envelope', 'header not JSON');
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new CorruptRecordError('envelope', 'header not an object');
    // Completed in place, not copied with a spread: one object per envelope, and the object is ours.
    const fields = header as Record<string, unknown>;
    fields.origin = origin;
    fields.frame = message.slice(start + hlen, start + hlen + flen);
    out.push(check(fields));
    i = start + hlen + flen;
  }
  if (out.length === 0) throw new CorruptRecordError('envelope', 'empty');
  return out;
}
