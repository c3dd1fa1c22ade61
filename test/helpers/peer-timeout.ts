/** Test utilities for the peer/client area: every wait races a timeout. */
import type { TypedEmitter, EventMap } from '../../src/client/typed-emitter.js';

/** Resolves `p`, or rejects after `ms` with a message naming `what`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The next emission of `event` (its arguments), bounded by `ms`. */
export function nextEvent<E extends EventMap, K extends keyof E & string>(emitter: TypedEmitter<E>, event: K, ms: number, filter?: (...args: E[K]) => boolean): Promise<E[K]> {
  let off: (() => void) | undefined;
  const p = new Promise<E[K]>((resolve) => {
    off = emitter.on(event, (...args: E[K]) => {
      if (filter !== undefined && !filter(...args)) return;
      off?.();
      resolve(args);
    });
  });
  return within(p, ms, `event ${event}`).finally(() => off?.());
}

/** Polls `check` every 20 ms until it is true, bounded by `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
