/**
 * The relay hot path's parser: one pass over the bytes of a text frame that validates it as JSON
 * (RFC 8259) and, when it is a plain signal, returns where its `data` lies and its `to` and `id`,
 * without building a string or any object for the frame (JSON.parse would build both, and the
 * relayed frame would then need `data` encoded again).
 *
 * It only ever accepts: anything it is unsure of (a key other than type/data/to/id, a repeated
 * key, an escape or a non-ASCII byte in `type`, `to`, `id` or a key, nesting deeper than
 * MAX_DEPTH, invalid JSON) returns undefined and the frame takes the full path (JSON.parse and
 * the protocol schema), which accepts, strips or explains exactly as before. So a frame this
 * accepts is one the full path accepts with the same meaning
 * (test/unit/server-signal-scan.test.ts checks that against JSON.parse and SignalMessage).
 *
 * Precondition: `buf` is valid UTF-8 (ws validates every text frame), so bytes >= 0x80 only occur
 * inside strings as parts of whole characters; structural characters are ASCII.
 */
import { MAX_JSON_DEPTH } from '../protocol/limits.js';
import type { MessageId } from '../protocol/messages.js';

/** A plain signal found by scanSignal: its routing fields and where `data` lies in the frame. */
export interface ScannedSignal {
  to: string | undefined;
  id: MessageId | undefined;
  /** [dataStart, dataEnd): the bytes of `data`'s value, a valid JSON value. */
  dataStart: number;
  dataEnd: number;
}

// Values inside the frame object start at depth 1, so this refuses exactly what nests deeper than
// MAX_JSON_DEPTH with the frame object counted (the full path then answers BAD_MESSAGE).
const MAX_DEPTH = MAX_JSON_DEPTH;
const FAIL = -1;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** `i` at an opening quote: the index past the closing one, or FAIL. */
function scanString(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x22) return i + 1;
    if (c < 0x20) return FAIL; // control characters must be escaped
    if (c === 0x5c) {
      const e = b[++i];
      if (e === 0x75) {
        if (i + 4 >= b.length || !isHex(b[i + 1]!) || !isHex(b[i + 2]!) || !isHex(b[i + 3]!) || !isHex(b[i + 4]!)) return FAIL;
        i += 4;
      } else if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return FAIL;
    }
  }
  return FAIL;
}

/** `i` at '-' or a digit: the index past the number (RFC 8259 section 6 grammar), or FAIL. */
function scanNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i]) && b[i] !== 0x30) while (isDigit(b[i])) i++;
  else return FAIL;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return FAIL;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return FAIL;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function scanLiteral(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return FAIL;
  return i + word.length;
}

/** `i` at the first byte of a value: the index past it, or FAIL. */
function scanValue(b: Uint8Array, i: number, depth: number): number {
  const c = b[i];
  if (c === 0x22) return scanString(b, i);
  if (c === 0x7b || c === 0x5b) {
    if (depth >= MAX_DEPTH) return FAIL;
    const close = c === 0x7b ? 0x7d : 0x5d;
    i = skipSpace(b, i + 1);
    if (b[i] === close) return i + 1;
    for (;;) {
      if (c === 0x7b) {
        if (b[i] !== 0x22) return FAIL;
        i = scanString(b, i);
        if (i === FAIL) return FAIL;
        i = skipSpace(b, i);
        if (b[i] !== 0x3a) return FAIL;
        i = skipSpace(b, i + 1);
      }
      i = scanValue(b, i, depth + 1);
      if (i === FAIL) return FAIL;
      i = skipSpace(b, i);
      if (b[i] === close) return i + 1;
      if (b[i] !== 0x2c) return FAIL;
      i = skipSpace(b, i + 1);
    }
  }
  if (c === 0x2d || isDigit(c)) return scanNumber(b, i);
  if (c === 0x74) return scanLiteral(b, i, 'true');
  if (c === 0x66) return scanLiteral(b, i, 'false');
  if (c === 0x6e) return scanLiteral(b, i, 'null');
  return FAIL;
}

/** Which of the four signal keys the key string at [start, end) (quotes included) is; 0 if none. */
function keyOf(b: Uint8Array, start: number, end: number): number {
  const len = end - start - 2;
  const k0 = b[start + 1];
  if (len === 4 && k0 === 0x74 && b[start + 2] === 0x79 && b[start + 3] === 0x70 && b[start + 4] === 0x65) return KEY_TYPE;
  if (len === 4 && k0 === 0x64 && b[start + 2] === 0x61 && b[start + 3] === 0x74 && b[start + 4] === 0x61) return KEY_DATA;
  if (len === 2 && k0 === 0x74 && b[start + 2] === 0x6f) return KEY_TO;
  if (len === 2 && k0 === 0x69 && b[start + 2] === 0x64) return KEY_ID;
  return 0;
}
const KEY_TYPE = 1;
const KEY_DATA = 2;
const KEY_TO = 4;
const KEY_ID = 8;

/** A string value without escapes or non-ASCII bytes, as a JS string; undefined otherwise. */
function plainAscii(b: Buffer, start: number, end: number): string | undefined {
  for (let k = start + 1; k < end - 1; k++) {
    const c = b[k]!;
    if (c === 0x5c || c >= 0x80) return undefined;
  }
  // Decoded in place: Buffer.from(...).toString() would make a Buffer object first.
  return b.toString('latin1', start + 1, end - 1);
}

/**
 * The number at [start, end) (scanNumber's grammar). Integers of up to 15 digits, the usual
 * message id, are summed here, exactly (below 2^53); anything else goes through Number().
 */
function numberAt(b: Buffer, start: number, end: number): number {
  const negative = b[start] === 0x2d;
  const from = negative ? start + 1 : start;
  if (end - from <= 15) {
    let n = 0;
    let k = from;
    for (; k < end; k++) {
      const c = b[k]!;
      if (c < 0x30 || c > 0x39) break;
      n = n * 10 + (c - 0x30);
    }
    if (k === end) return negative ? -n : n;
  }
  return Number(b.toString('latin1', start, end));
}

/**
 * The frame in `buf` as a plain signal: `{"type":"signal","data":...}` with optional `to` (1..64
 * characters) and `id` (a string of at most 128 characters or a finite number), each key once, in
 * any order and spacing. Undefined for anything else (see the module comment).
 */
export function scanSignal(buf: Buffer): ScannedSignal | undefined {
  let i = skipSpace(buf, 0);
  if (buf[i] !== 0x7b) return undefined;
  i = skipSpace(buf, i + 1);
  let seen = 0;
  let to: string | undefined;
  let id: MessageId | undefined;
  let dataStart = 0;
  let dataEnd = 0;
  for (;;) {
    if (buf[i] !== 0x22) return undefined;
    const keyStart = i;
    i = scanString(buf, i);
    if (i === FAIL) return undefined;
    const key = keyOf(buf, keyStart, i);
    if (key === 0 || (seen & key) !== 0) return undefined;
    seen |= key;
    i = skipSpace(buf, i);
    if (buf[i] !== 0x3a) return undefined;
    i = skipSpace(buf, i + 1);
    const start = i;
    i = scanValue(buf, i, 1);
    if (i === FAIL) return undefined;
    if (key === KEY_DATA) {
      dataStart = start;
      dataEnd = i;
    } else if (key === KEY_TYPE) {
      if (i - start !== 8 || scanLiteral(buf, start, '"signal"') !== i) return undefined;
    } else if (buf[start] === 0x22) {
      const s = plainAscii(buf, start, i);
      if (s === undefined) return undefined;
      if (key === KEY_TO) {
        if (s.length === 0 || s.length > 64) return undefined;
        to = s;
      } else {
        if (s.length > 128) return undefined;
        id = s;
      }
    } else {
      // Only `id` may be a number; a number too large for a double is Infinity, which it may not be.
      if (key !== KEY_ID || !(buf[start] === 0x2d || isDigit(buf[start]))) return undefined;
      const n = numberAt(buf, start, i);
      if (!Number.isFinite(n)) return undefined;
      id = n;
    }
    i = skipSpace(buf, i);
    if (buf[i] === 0x2c) {
      i = skipSpace(buf, i + 1);
      continue;
    }
    if (buf[i] !== 0x7d) return undefined;
    if (skipSpace(buf, i + 1) !== buf.length) return undefined;
    if ((seen & (KEY_TYPE | KEY_DATA)) !== (KEY_TYPE | KEY_DATA)) return undefined;
    return { to, id, dataStart, dataEnd };
  }
}

/**
 * True when `buf` is one JSON value (surrounding whitespace allowed) that `scanSignal` would accept
 * as a signal's `data` (valid JSON, nested at most MAX_DEPTH inside the frame object). A false is
 * not a verdict: the caller takes its full path.
 */
export function isSignalData(buf: Uint8Array): boolean {
  const i = skipSpace(buf, 0);
  if (i === buf.length) return false;
  const end = scanValue(buf, i, 1);
  return end !== FAIL && skipSpace(buf, end) === buf.length;
}
