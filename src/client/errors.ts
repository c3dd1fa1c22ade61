/**
 * Turning what the server says (error frames, HTTP status on upgrade, close codes) into SigctlError.
 */
import { isErrorCode, SigctlError, type ErrorCode } from '../protocol/errors.js';
import type { ErrorMessage, HttpErrorBody } from '../protocol/messages.js';

/** The SigctlError for an `error` frame; unknown codes become INTERNAL with the wire code kept. */
export function errorFromFrame(frame: ErrorMessage): SigctlError {
  const code: ErrorCode = isErrorCode(frame.code) ? frame.code : 'INTERNAL';
  const details: Record<string, unknown> = {};
  if (frame.re !== undefined) details.re = frame.re;
  if (code !== frame.code) details.wireCode = frame.code;
  return new SigctlError(code, frame.message, { details });
}

/** The SigctlError for an HTTP status answering the WebSocket upgrade, with the server's reason when its JSON body gave one. */
export function errorFromUpgradeStatus(status: number, url: string, body?: HttpErrorBody['error']): SigctlError {
  const details: Record<string, unknown> = { status, url };
  if (body !== undefined) {
    details.reason = body.message;
    details.wireCode = body.code;
  }
  const why = body === undefined ? '' : `: ${body.message}`;
  if (status === 401) return new SigctlError('UNAUTHORIZED', `the server refused the token (HTTP 401 from ${url})${why}`, { details });
  if (status === 403) return new SigctlError('FORBIDDEN', `the server refused this client (HTTP 403 from ${url})${why}`, { details });
  if (status === 503) return new SigctlError('SHUTTING_DOWN', `the server is draining (HTTP 503 from ${url})${why}`, { details });
  return new SigctlError('SERVER_UNREACHABLE', `HTTP ${status} instead of a WebSocket upgrade from ${url}${why}`, { details });
}

/** Strips credentials (`?token=`, userinfo) from a URL before it goes into a message or log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.searchParams.has('token')) u.searchParams.set('token', 'REDACTED');
    if (u.password !== '') u.password = 'REDACTED';
    return u.toString();
  } catch {
    return url;
  }
}
