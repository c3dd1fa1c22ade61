/**
 * Bounds a Redis command in time. node-redis waits for a reply forever on a socket that stays
 * open (a frozen or overloaded Redis), and its own per-command timeout does not cover MULTI; this
 * bound covers everything. The command itself may still run when Redis wakes up: a caller told
 * UNAVAILABLE must treat the outcome as unknown (docs/reliability.md).
 */
import { SigctlError } from '../protocol/errors.js';

/** The error of a command that did not answer in time. */
export class DeadlineError extends SigctlError {
  constructor(what: string, ms: number) {
    super('UNAVAILABLE', `Redis did not answer ${what} within ${ms} ms (redis.timeoutMs)`);
  }
}

/** Resolves as `work` does, or rejects with DeadlineError after `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
