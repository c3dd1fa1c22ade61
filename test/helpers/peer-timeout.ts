/** Test utilities for the peer/client area: every wait races a timeout. */
import type { TypedEmitter, EventMap } from '../../src/client/typed-emitter.js';
import { until, within } from './within.js';

export { until, within };

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
