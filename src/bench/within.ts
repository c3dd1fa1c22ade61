/** A bounded wait on an event source, for the bench's engines and workers. */
import { SigctlError } from '../protocol/errors.js';

/** Runs `start` (which subscribes and returns its unsubscribe); rejects with TIMEOUT after `ms`. */
export function within<T>(ms: number, what: string, start: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: () => void = () => undefined;
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      cleanup();
      reject(new SigctlError('TIMEOUT', `${what} did not happen within ${ms} ms`));
    }, ms);
    cleanup = start(
      (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cleanup();
        resolve(v);
      },
      (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cleanup();
        reject(e);
      },
    );
    // `start` may have settled synchronously, before `cleanup` was assigned.
    if (settled) cleanup();
  });
}
