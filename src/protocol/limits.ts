/**
 * Structural limits of protocol v1 frames (docs/protocol.md, "Limits"). They exist so that nothing
 * the server does with a frame (JSON.stringify when relaying, encoding `joined` with every member's
 * meta) can recurse deep enough to overflow the stack, and so a member's meta stays small enough to
 * be sent to every other member of its room.
 */

/**
 * Deepest nesting of objects and arrays in a client frame, the frame object itself counting as 1:
 * `{"type":"signal","data":[[1]]}` is 3 deep. Deeper frames are answered BAD_MESSAGE unparsed.
 */
export const MAX_JSON_DEPTH = 64;

/** Deepest nesting inside `meta` (the meta object itself counting as 1). */
export const MAX_META_DEPTH = 8;

/** Largest `meta`, in UTF-8 bytes of its JSON encoding. */
export const MAX_META_BYTES = 4096;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * True when the JSON text in `bytes` nests objects/arrays deeper than `max`. One linear pass that
 * counts brackets outside strings and builds nothing, so it is safe on any input and runs before
 * anything recurses on the frame. It does not validate: an invalid text that is not too deep gets
 * false, and JSON.parse reports it afterwards. Works on UTF-8 bytes (structural characters and
 * string quotes are ASCII, and no byte of a multi-byte character is below 0x80).
 */
export function nestsDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/**
 * Depth and encoded size of a parsed JSON value, measured without recursion (an explicit stack),
 * stopping as soon as `maxDepth` is passed. `bytes` is the UTF-8 length of JSON.stringify(value)
 * and is only meaningful when `tooDeep` is false.
 */
export function measureJson(value: unknown, maxDepth: number): { tooDeep: boolean; bytes: number } {
  let bytes = 0;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v === 'object' && v !== null) {
      if (depth + 1 > maxDepth) return { tooDeep: true, bytes };
      const entries = Array.isArray(v) ? v.map((item: unknown) => ['', item] as const) : Object.entries(v);
      // Brackets and the commas between entries.
      bytes += 2 + Math.max(0, entries.length - 1);
      for (const [k, item] of entries) {
        if (!Array.isArray(v)) bytes += utf8Length(JSON.stringify(k)) + 1;
        stack.push({ v: item, depth: depth + 1 });
      }
    } else {
      // A leaf: a string, number, boolean or null (undefined cannot come out of JSON.parse).
      bytes += utf8Length(JSON.stringify(v) ?? 'null');
    }
  }
  return { tooDeep: false, bytes };
}

/** UTF-8 length of a string (as JSON.stringify makes them: lone surrogates arrive escaped). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: 2 code units, 4 bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}
