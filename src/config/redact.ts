/**
 * Secret redaction for config printing and logs: TURN credentials and secrets, the JWT secret, and
 * passwords inside URLs never leave the process.
 */
import { SECRET_PATHS } from './schema.js';

export const REDACTED = '[redacted]';

/** Replaces the password of a URL such as redis://user:pass@host with a marker. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, `$1:${REDACTED}@`);
}

function isSecretPath(path: string): boolean {
  return SECRET_PATHS.some((re) => re.test(path));
}

/** A deep copy of `value` with every secret replaced. `path` is the dotted path of `value` itself. */
export function redact(value: unknown, path = ''): unknown {
  if (path !== '' && isSecretPath(path) && value !== undefined) return REDACTED;
  if (typeof value === 'string') return /^[a-z]+:\/\//i.test(value) ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map((v, i) => redact(v, path === '' ? String(i) : `${path}.${i}`));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(v, path === '' ? k : `${path}.${k}`);
    return out;
  }
  return value;
}
