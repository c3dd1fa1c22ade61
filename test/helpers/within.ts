/**
 * The bounded waits every test uses: `within` races one promise against a timer, `until` re-checks
 * a condition and stops when its bound fires. One definition for the whole test tree (src/ keeps
 * its own for product code).
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Resolves `p`, or rejects after `ms` with a message naming what was awaited. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Re-checks `check` every `everyMs` until it holds, bounded by `ms`. For state that announces no
 * event (a count in /metrics, a process list); where an event exists, wait for the event instead.
 * The loop itself stops when the bound fires: nothing keeps polling after the test has moved on.
 */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 20): Promise<void> {
  const stop = new AbortController();
  const timedOut = new Promise<never>((_, reject) => {
    stop.signal.addEventListener('abort', () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), { once: true });
  });
  timedOut.catch(() => undefined);
  const timer = setTimeout(() => stop.abort(), ms);
  try {
    // A check that never settles is cut off by the same bound.
    while (!(await Promise.race([Promise.resolve(check()), timedOut]))) {
      if (stop.signal.aborted) await timedOut;
      await Promise.race([delay(everyMs, undefined, { signal: stop.signal }).catch(() => undefined), timedOut]);
    }
  } finally {
    clearTimeout(timer);
  }
}
