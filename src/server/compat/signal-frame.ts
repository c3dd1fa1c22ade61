/**
 * The two halves of a relayed v1 signal frame, read without parsing it: every signal the hub sends
 * is `signalPrefix(from)` + the sender's `data` bytes + `}` (frames.ts: relayFrame, encodeSignal),
 * and member ids are server-made base64url, so `from` needs no unescaping. The compat codecs hand
 * `data` on byte for byte, as the sender wrote it.
 */
import type { Frame } from '../frames.js';

const PREFIX = '{"type":"signal","from":"';
const DATA_KEY = '","data":';

/** `from` and the text of `data` of a relayed signal frame, or undefined for any other frame. */
export function splitSignal(frame: Frame): { from: string; data: string } | undefined {
  const text = typeof frame === 'string' ? frame : frame.toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  const end = text.indexOf(DATA_KEY, PREFIX.length);
  if (end < 0 || text.charCodeAt(text.length - 1) !== 0x7d) return undefined;
  return { from: text.slice(PREFIX.length, end), data: text.slice(end + DATA_KEY.length, text.length - 1) };
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
