/**
 * Live progress for long bench phases: a once-a-second countdown while a window runs. Updates are
 * marked transient: a spinner shows them, a log (non-TTY stderr) does not need sixty lines a minute.
 */

/** Receives progress text; `transient` marks an update that only a live display should show. */
export type ProgressFn = (text: string, transient?: boolean) => void;

/** Runs `work`, calling `tick` with the whole seconds left of `durationS` once a second meanwhile. */
export async function countdown<T>(durationS: number, tick: (secondsLeft: number) => void, work: () => Promise<T>): Promise<T> {
  const end = performance.now() + durationS * 1000;
  const timer = setInterval(() => tick(Math.max(0, Math.ceil((end - performance.now()) / 1000))), 1_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
