/**
 * STOMP 1.2 frames (https://stomp.github.io/stomp-specification-1.2.html): an incremental decoder
 * and an encoder, for the STOMP compatibility codec (Spring-style signaling clients on
 * `@stomp/stompjs`). Only framing lives here; what the commands mean is the codec's business.
 *
 * Wire shape: `COMMAND EOL (name:value EOL)* EOL body NUL`, where EOL is LF or CR LF. Between frames
 * any number of EOLs may appear: each is a heart-beat (spec "Heart-beating"). A body ends at the
 * first NUL unless `content-length` gives its size in octets (then it may contain NULs).
 *
 * Decisions, each from the spec unless said otherwise:
 * - Header values (and names) are unescaped (`\r`, `\n`, `\c`, `\\`) in every frame but CONNECT
 *   and CONNECTED; any other backslash sequence is a fatal error (spec "Value Encoding").
 * - A repeated header: the first occurrence wins (spec "Repeated Header Entries").
 * - Header text is not trimmed (1.2); a CR before LF is part of the EOL, not of the value.
 * - A NUL where a frame would start is skipped, as @stomp/stompjs's own parser does: some clients
 *   terminate a frame twice.
 * - A WebSocket message may carry several frames, or a part of one (stompjs `splitLargeFrames`):
 *   the decoder keeps a partial frame, bounded by `maxFrameBytes` so a client cannot make it grow.
 */

/** One decoded frame. `headers` keeps the first value of each name, in arrival order. */
export interface StompFrame {
  readonly command: string;
  readonly headers: ReadonlyMap<string, string>;
  /** A view of the pushed bytes, not a copy (the decoder never writes to them, nor may the caller). */
  readonly body: Buffer;
}

/** What the decoder refuses, as a stable reason (the codec maps it to an ERROR frame). */
export type StompFrameProblem = 'frame-too-large' | 'too-many-headers' | 'bad-command' | 'bad-header' | 'bad-escape' | 'bad-content-length' | 'missing-nul';

/** A frame the decoder cannot accept; after it the stream is out of step and must be closed. */
export class StompFrameError extends Error {
  constructor(
    readonly problem: StompFrameProblem,
    message: string,
  ) {
    super(message);
    this.name = 'StompFrameError';
  }
}

/** Limits that keep one client's frames from costing the server more than a frame's worth. */
export interface StompLimits {
  /** Largest frame (command, headers and body) in octets. */
  readonly maxFrameBytes: number;
  /** Most header lines in one frame. */
  readonly maxHeaders: number;
}

/** What one `push` yields, in stream order. */
export type StompEvent = { readonly kind: 'frame'; readonly frame: StompFrame } | { readonly kind: 'heartbeat' };

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const COLON = ':';
const EMPTY = Buffer.alloc(0);
const COMMAND = /^[A-Z]{1,32}$/;
/** Frames whose headers are sent and read as they are (spec "Value Encoding"). */
const UNESCAPED_COMMANDS = new Set(['CONNECT', 'CONNECTED']);

/** Decodes a byte stream (the payloads of one connection's WebSocket messages) into frames. */
export class StompDecoder {
  private pending: Buffer = EMPTY;

  constructor(private readonly limits: StompLimits) {}

  /** Appends `chunk` and returns every frame and heart-beat it completes; throws StompFrameError. */
  push(chunk: Buffer | string): StompEvent[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const events: StompEvent[] = [];
    let at = 0;
    for (;;) {
      at = this.skipBetweenFrames(at, events);
      if (at >= this.pending.length) break;
      const decoded = this.decodeAt(at);
      if (decoded === undefined) break;
      events.push({ kind: 'frame', frame: decoded.frame });
      at = decoded.end;
    }
    this.pending = at >= this.pending.length ? EMPTY : this.pending.subarray(at);
    if (this.pending.length > this.limits.maxFrameBytes) {
      throw new StompFrameError('frame-too-large', `frame larger than ${this.limits.maxFrameBytes} bytes`);
    }
    return events;
  }

  /** Octets of a partial frame held for the next push. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Skips EOLs (heart-beats) and stray NULs before a frame; returns the first octet of the next frame. */
  private skipBetweenFrames(at: number, events: StompEvent[]): number {
    const b = this.pending;
    while (at < b.length) {
      if (b[at] === LF) events.push({ kind: 'heartbeat' });
      else if (b[at] === CR) {
        // A lone CR at the end of the chunk may be the first half of CR LF: keep it.
        if (at + 1 >= b.length) return at;
        if (b[at + 1] !== LF) return at;
      } else if (b[at] !== NUL) return at;
      at++;
    }
    return at;
  }

  /** The frame starting at `start`, or undefined when it is not complete yet. */
  private decodeAt(start: number): { frame: StompFrame; end: number } | undefined {
    const b = this.pending;
    const lines: string[] = [];
    let at = start;
    for (;;) {
      const lf = b.indexOf(LF, at);
      if (lf < 0) return undefined;
      const lineEnd = lf > at && b[lf - 1] === CR ? lf - 1 : lf;
      const line = b.toString('utf8', at, lineEnd);
      at = lf + 1;
      if (line === '' && lines.length > 0) break;
      lines.push(line);
      if (lines.length > this.limits.maxHeaders + 1) throw new StompFrameError('too-many-headers', `more than ${this.limits.maxHeaders} headers`);
    }
    const command = lines[0] ?? '';
    if (!COMMAND.test(command)) throw new StompFrameError('bad-command', `not a STOMP command: ${JSON.stringify(command.slice(0, 32))}`);
    const headers = parseHeaders(lines, !UNESCAPED_COMMANDS.has(command));
    const length = headers.get('content-length');
    if (length !== undefined) {
      if (!/^\d{1,10}$/.test(length)) throw new StompFrameError('bad-content-length', `content-length is not a number of octets: ${JSON.stringify(length.slice(0, 16))}`);
      const size = Number(length);
      if (size > this.limits.maxFrameBytes) throw new StompFrameError('frame-too-large', `frame larger than ${this.limits.maxFrameBytes} bytes`);
      if (b.length < at + size + 1) return undefined;
      if (b[at + size] !== NUL) throw new StompFrameError('missing-nul', 'no NUL after the content-length octets of the body');
      return { frame: { command, headers, body: b.subarray(at, at + size) }, end: at + size + 1 };
    }
    const nul = b.indexOf(NUL, at);
    if (nul < 0) return undefined;
    return { frame: { command, headers, body: b.subarray(at, nul) }, end: nul + 1 };
  }
}

/** The headers of a frame's lines (lines[0] is the command). */
function parseHeaders(lines: readonly string[], escaped: boolean): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(COLON);
    if (colon <= 0) throw new StompFrameError('bad-header', `header line without a name and a colon: ${JSON.stringify(line.slice(0, 64))}`);
    const name = escaped ? unescapeHeader(line.slice(0, colon)) : line.slice(0, colon);
    const value = escaped ? unescapeHeader(line.slice(colon + 1)) : line.slice(colon + 1);
    if (!headers.has(name)) headers.set(name, value);
  }
  return headers;
}

/** Spec "Value Encoding": the four defined escapes; any other is a fatal protocol error. */
function unescapeHeader(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(.?)/gs, (_m, c: string) => {
    switch (c) {
      case 'r':
        return '\r';
      case 'n':
        return '\n';
      case 'c':
        return ':';
      case '\\':
        return '\\';
      default:
        throw new StompFrameError('bad-escape', `undefined escape sequence \\${c} in a header`);
    }
  });
}

const NEEDS_ESCAPE = /[\\\r\n:]/;

/** A header name or value escaped per STOMP 1.2 ("Value Encoding"); most need nothing, and get nothing done. */
export function escapeStompHeader(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[\\\r\n:]/g, (c) => (c === '\\' ? '\\\\' : c === '\r' ? '\\r' : c === '\n' ? '\\n' : '\\c'));
}

/**
 * The command line and header lines of a frame, escaped as encodeStompFrame escapes them, without
 * the blank line: a head computed once and finished many times by stompFrameFromHead (the STOMP
 * session's MESSAGE frames for one subscription differ only in a few headers and the body).
 */
export function encodeStompHead(command: string, headers: Iterable<readonly [string, string]>): string {
  const escape = !UNESCAPED_COMMANDS.has(command);
  let text = command + '\n';
  for (const [name, value] of headers) {
    if (name === 'content-length') continue;
    text += escape ? `${escapeStompHeader(name)}:${escapeStompHeader(value)}\n` : `${name}:${value}\n`;
  }
  return text;
}

/** A frame from its head (encodeStompHead, plus any header lines after it) and its body. */
export function stompFrameFromHead(head: string, body = ''): string {
  return body === '' ? `${head}\n\0` : `${head}content-length:${Buffer.byteLength(body, 'utf8')}\n\n${body}\0`;
}

/**
 * A frame as bytes, built in one allocation: `head` (encodeStompHead's text, plus any header lines
 * after it, as UTF-8), the header lines `tail` written as latin1 (one byte per character: the
 * caller's tail is ASCII or latin1-decoded bytes it hands back unchanged), then `body`'s bytes
 * [start, end) with `content-length` as stompFrameFromHead would write it. The relay's hot path
 * makes no string of a body it passes on.
 */
export function stompFrameBytes(head: Buffer, tail: string, body: Uint8Array, start: number, end: number): Buffer {
  const length = end - start;
  const lines = length === 0 ? `${tail}\n` : `${tail}content-length:${length}\n\n`;
  const out = Buffer.allocUnsafe(head.length + lines.length + length + 1);
  head.copy(out, 0);
  let at = head.length + out.write(lines, head.length, 'latin1');
  out.set(body.subarray(start, end), at);
  at += length;
  out[at] = 0;
  return out;
}

/**
 * One frame as text for a WebSocket text message. Headers are escaped (but for CONNECTED); a
 * non-empty body gets `content-length` in octets, so a receiver never scans it for a NUL.
 */
export function encodeStompFrame(command: string, headers: Iterable<readonly [string, string]>, body = ''): string {
  return stompFrameFromHead(encodeStompHead(command, headers), body);
}

/** A heart-beat from the server: one EOL (spec "Heart-beating"). */
export const STOMP_HEARTBEAT = '\n';
