/**
 * Where a top-level member's value lies in the bytes of a JSON object, so that a relayed signal can
 * carry the sender's `data` bytes as they arrived instead of re-serialising the parsed value
 * (JSON.stringify plus a string -> Buffer conversion per message; the floor relay forwards bytes).
 *
 * Precondition: `buf` is UTF-8 text that JSON.parse has already accepted as an object. The scanner
 * relies on that and does not validate; it only has to find structure. Structural characters are
 * ASCII and never occur inside a multi-byte UTF-8 sequence, so scanning bytes is exact.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** A byte range [start, end) of a buffer. */
export interface Span {
  start: number;
  end: number;
}

function isSpace(c: number | undefined): boolean {
  // RFC 8259 section 2: the only insignificant whitespace is space, tab, line feed, carriage return.
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(buf: Uint8Array, i: number): number {
  while (isSpace(buf[i])) i++;
  return i;
}

/** `i` is at an opening quote; returns the index just past the closing one. */
function skipString(buf: Uint8Array, i: number): number {
  for (i++; i < buf.length; i++) {
    const c = buf[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return buf.length;
}

/** `i` is at the first byte of a value; returns the index just past it. */
function skipValue(buf: Uint8Array, i: number): number {
  const first = buf[i];
  if (first === QUOTE) return skipString(buf, i);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    while (i < buf.length) {
      const c = buf[i];
      if (c === QUOTE) {
        i = skipString(buf, i);
        continue;
      }
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return buf.length;
  }
  // A number, true, false or null: runs up to the next delimiter.
  while (i < buf.length) {
    const c = buf[i];
    if (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c)) return i;
    i++;
  }
  return i;
}

/** True when the key string at [start, end) (quotes included) decodes to the ASCII `key`. */
function keyIs(buf: Uint8Array, start: number, end: number, key: string): boolean {
  const len = end - start - 2;
  let escaped = false;
  for (let k = start + 1; k < end - 1; k++) if (buf[k] === BACKSLASH) escaped = true;
  if (!escaped) {
    if (len !== key.length) return false;
    for (let k = 0; k < len; k++) if (buf[start + 1 + k] !== key.charCodeAt(k)) return false;
    return true;
  }
  // An escaped key ("d\u0061ta") is legal JSON and means the same key: decode it (rare).
  return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8')) === key;
}

/**
 * The byte range of the value of top-level member `key` (ASCII, unescaped) in the JSON object in
 * `buf`; the last one when the key repeats (as JSON.parse keeps the last). Undefined when the
 * object has no such key. `buf` must be an object JSON.parse accepted (see the module comment).
 */
export function memberSpan(buf: Uint8Array, key: string): Span | undefined {
  let i = skipSpace(buf, 0);
  if (buf[i] !== OPEN_OBJECT) return undefined;
  let found: Span | undefined;
  i++;
  for (;;) {
    i = skipSpace(buf, i);
    if (buf[i] !== QUOTE) return found; // '}' (or malformed input: give up)
    const keyStart = i;
    i = skipString(buf, i);
    const keyEnd = i;
    i = skipSpace(buf, i);
    if (buf[i] !== COLON) return undefined;
    i = skipSpace(buf, i + 1);
    const start = i;
    i = skipValue(buf, i);
    if (keyIs(buf, keyStart, keyEnd, key)) found = { start, end: i };
    i = skipSpace(buf, i);
    if (buf[i] !== COMMA) return found;
    i++;
  }
}
