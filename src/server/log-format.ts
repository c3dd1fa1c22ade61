/**
 * Readable log lines for a terminal: pino writes its JSON lines into this stream, which prints each
 * one as `12:04:05.123 INFO  joined conn=Qx3… room=demo`. The JSON stays the format for files and
 * log shippers (`logFormat: json`); this is for the person watching `sigctl serve` (a small
 * formatter of our own: pino-pretty brings a dozen dependencies for the same job).
 */
import { Writable } from 'node:stream';

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** ANSI colours per level (only with `color`). */
const COLORS: Readonly<Record<number, string>> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, shown in the prefix or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'v']);

function plain(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    // An error (pino's err serializer): its message reads better than the whole object.
    return JSON.stringify((value as { message: string }).message);
  }
  return JSON.stringify(value) ?? String(value);
}

function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** One pino JSON line as a readable line (without the newline); non-JSON input comes back as is. */
export function prettyLogLine(json: string, color = false): string {
  let rec: unknown;
  try {
    rec = JSON.parse(json);
  } catch {
    return json;
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return json;
  const r = rec as Record<string, unknown>;
  const level = typeof r.level === 'number' ? r.level : 30;
  const name = (LEVELS[level] ?? `L${level}`).padEnd(5);
  const time = typeof r.time === 'number' ? clock(r.time) : '--:--:--.---';
  const fields = Object.entries(r)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${plain(v)}`);
  const msg = typeof r.msg === 'string' ? r.msg : '';
  const paint = (code: string | undefined, text: string): string => (color && code !== undefined ? `\u001b[${code}m${text}\u001b[39m` : text);
  const dim = (text: string): string => (color ? `\u001b[2m${text}\u001b[22m` : text);
  return [dim(time), paint(COLORS[level], name), msg, ...fields.map(dim)].filter((p) => p !== '').join(' ');
}

/** A stream for pino that writes readable lines to `destination`. */
export function prettyLogStream(destination: NodeJS.WritableStream, color = false): Writable {
  let pending = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      let out = '';
      while (nl >= 0) {
        out += `${prettyLogLine(pending.slice(0, nl), color)}\n`;
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
      // stderr is synchronous for terminals and files: nothing to wait for, and nothing may be
      // held back here when the process exits right after a log line.
      if (out !== '') destination.write(out);
      done();
    },
    final(done) {
      if (pending !== '') destination.write(`${prettyLogLine(pending, color)}\n`);
      pending = '';
      done();
    },
  });
}
