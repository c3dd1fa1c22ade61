/**
 * Time as a dependency: the client and peer session take a Clock so that tests can drive timers
 * (backoff, request timeouts) without module mocking.
 */

/** An opaque timer handle. */
export type TimerHandle = unknown;

export interface Clock {
  /** Monotonic milliseconds (performance.now() by default), used for phase timestamps. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. Timers stay ref'd on purpose: a pending reconnect must keep the process alive
 * (nothing else may be holding it). Every owner clears its timers in close().
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
