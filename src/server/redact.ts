/**
 * Keeps credentials out of logs: access tokens in query strings (`?token=`, `access_token=`,
 * `jwt=`) and the Authorization header.
 */
import { REDACTED } from '../config/redact.js';

const TOKEN_PARAMS = new Set(['token', 'access_token', 'jwt']);

/** A query parameter name as URLSearchParams decodes it (`tok%65n` is `token`). */
function decodedName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    // Malformed percent-encoding: URLSearchParams keeps such bytes as they are.
    return raw;
  }
}

/**
 * A request URL safe to log. Parameters are matched by their decoded, lower-cased name, the way
 * the token lookup reads them (a token sent as `?tok%65n=` is still a token), so no spelling of
 * the name lets a value through.
 */
export function redactRequestUrl(url: string | undefined): string {
  const whole = url ?? '';
  // A fragment never reaches a server from a browser; one that does is not worth the risk.
  const hash = whole.indexOf('#');
  const text = hash < 0 ? whole : whole.slice(0, hash);
  const fragment = hash < 0 ? '' : `#${REDACTED}`;
  const q = text.indexOf('?');
  if (q < 0) return `${text}${fragment}`;
  const params = text
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return TOKEN_PARAMS.has(decodedName(name).toLowerCase()) ? `${name}=${REDACTED}` : pair;
    });
  return `${text.slice(0, q + 1)}${params.join('&')}${fragment}`;
}

/** pino `redact` paths for anything that might carry a header or token. */
export const LOG_REDACT_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'token'];
