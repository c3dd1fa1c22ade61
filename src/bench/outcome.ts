/**
 * A run in which nothing connected measured nothing: every pair failed, or every client failed to
 * join. That is an error of the run itself (exit 1), whatever the gates say, and even with no gate
 * at all: a CI job must not pass on an empty table. The code is the most frequent failure's (e.g.
 * SERVER_UNREACHABLE, UNAUTHORIZED, TIMEOUT), so the user sees why, not just that.
 */
import { isErrorCode, SigctlError, type ErrorCode } from '../protocol/errors.js';

/** The most frequent catalogue code in `errors` (ties: the first seen); CONNECTION_LOST when none is one (e.g. CLOSED_1006). */
export function dominantCode(errors: Readonly<Record<string, number>>): ErrorCode {
  let best: ErrorCode | undefined;
  let bestCount = 0;
  for (const [code, n] of Object.entries(errors)) {
    if (isErrorCode(code) && n > bestCount) {
      best = code;
      bestCount = n;
    }
  }
  return best ?? 'CONNECTION_LOST';
}

/**
 * The error for a run where none of `attempted` connected, or undefined when at least one did.
 * `what` names the unit: "pair" or "client"; `example` is one failure's message, when known.
 */
export function nothingConnected(what: 'pair' | 'client', attempted: number, succeeded: number, errors: Readonly<Record<string, number>>, example?: string): SigctlError | undefined {
  if (attempted === 0 || succeeded > 0) return undefined;
  const why = Object.entries(errors)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} x${n}`)
    .join(', ');
  const verb = what === 'pair' ? 'connected' : 'joined';
  return new SigctlError(dominantCode(errors), `nothing measured: no ${what} ${verb} (${attempted} of ${attempted} failed${why === '' ? '' : `: ${why}`})${example === undefined ? '' : `; for example: ${example}`}`, {
    details: { nothingConnected: true, attempted, errors: { ...errors } },
  });
}
