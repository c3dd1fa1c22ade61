/**
 * Reconnect delays: exponential backoff with "equal jitter" (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): half of the capped exponential delay is kept, the other half is random.
 * Keeping a floor avoids a thundering herd reconnecting at ~0 ms after a server restart, while the
 * random half spreads the herd out. `random` is injectable so tests are deterministic.
 */

export interface BackoffOptions {
  /** Delay before the first retry, before jitter (ms). */
  baseMs: number;
  /** Upper bound of any delay (ms). */
  capMs: number;
  /** Retries before giving up; 0 disables reconnecting. */
  maxAttempts: number;
}

/** Defaults: 250 ms, 500 ms, 1 s, ... capped at 10 s, 8 attempts (~30 s in total at most). */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 250, capMs: 10_000, maxAttempts: 8 });

/**
 * The delay before retry number `attempt` (0-based): a value in [d/2, d] where
 * d = min(capMs, baseMs * 2^attempt). `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = options.baseMs * 2 ** Math.max(0, attempt);
  const d = Math.min(options.capMs, exp);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(d / 2 + (d / 2) * r);
}
