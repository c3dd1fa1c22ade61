/**
 * The two halves of a relayed v1 signal frame, found without parsing it: every signal the hub sends
 * is `signalPrefix(from)` + the sender's `data` bytes + `}` (frames.ts: relayFrame, encodeSignal),
 * and member ids are server-made base64url, so `from` is ASCII and needs no unescaping. The compat
 * codecs hand `data` on byte for byte, as the sender wrote it, without making a string of it.
 */
import type { Frame } from '../frames.js';

const PREFIX = Buffer.from('{"type":"signal","from":"');
const DATA_KEY = Buffer.from('","data":');
const CLOSE_OBJECT = 0x7d;

/** Where a relayed signal's parts lie in its frame's bytes. */
export interface SignalSpan {
  /** The sender's member id. */
  readonly from: string;
  /** The frame's bytes; `data` is [dataStart, dataEnd) of them. */
  readonly bytes: Buffer;
  readonly dataStart: number;
  readonly dataEnd: number;
}

/** The parts of a relayed signal frame, or undefined for any other frame. */
export function signalSpan(frame: Frame): SignalSpan | undefined {
  const bytes = typeof frame === 'string' ? Buffer.from(frame) : frame;
  const min = PREFIX.length + DATA_KEY.length + 1;
  if (bytes.length <= min || bytes.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return undefined;
  const end = bytes.indexOf(DATA_KEY, PREFIX.length);
  if (end < 0 || bytes[bytes.length - 1] !== CLOSE_OBJECT) return undefined;
  return { from: bytes.toString('latin1', PREFIX.length, end), bytes, dataStart: end + DATA_KEY.length, dataEnd: bytes.length - 1 };
}

/** The text of a span's `data` (for the paths that are not the relay's hot path). */
export function spanData(span: SignalSpan): string {
  return span.bytes.toString('utf8', span.dataStart, span.dataEnd);
}

/** A v1 signal frame (client to server) carrying `json` (one JSON value, already checked) as its data. */
export function signalRequest(json: string): string {
  return `{"type":"signal","data":${json}}`;
}

/** True when `text` is one JSON value (what a v1 `data` may be). */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
