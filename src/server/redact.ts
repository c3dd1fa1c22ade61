/**
 * Keeps credentials out of logs: access tokens in query strings (`?token=`, `access_token=`) and
 * the Authorization header.
 */
import { REDACTED } from '../config/redact.js';

const TOKEN_PARAM = /([?&](?:token|access_token|jwt)=)[^&#]*/gi;

/** A request URL safe to log. */
export function redactRequestUrl(url: string | undefined): string {
  return (url ?? '').replace(TOKEN_PARAM, `$1${REDACTED}`);
}

/** pino `redact` paths for anything that might carry a header or token. */
export const LOG_REDACT_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'token'];
