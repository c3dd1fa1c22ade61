/**
 * The main-thread side of a bench worker thread: validated messages in an inbox, waits that are
 * bounded by a timeout and an AbortSignal, and failure (a worker error, a `fatal` report or an
 * unexpected exit) rejecting whoever is waiting. Shared by the signaling and peer workers.
 */
import type { z } from 'zod';
import { SigctlError } from '../protocol/errors.js';
import type { WorkerLike } from './child-worker.js';

type Tagged = { type: string };
type Waiter<M> = { type: string; resolve: (m: M) => void; reject: (e: Error) => void };

/** A worker and its inbox. `M` is the worker's message union; `fatal` messages carry `message`. */
export class WorkerHandle<M extends Tagged, C = unknown> {
  private readonly inbox: M[] = [];
  private waiter: Waiter<M> | undefined;
  private failure: Error | undefined;
  private exited = false;

  constructor(
    readonly worker: WorkerLike,
    schema: z.ZodType<M>,
    /** What the caller wants to remember about this worker (e.g. how many clients it runs). */
    readonly info: C,
  ) {
    worker.on('message', (raw: unknown) => {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) return this.fail(new SigctlError('INTERNAL', `bad message from a bench worker: ${parsed.error.message}`));
      const msg = parsed.data;
      if (msg.type === 'fatal') {
        const why = (msg as unknown as { message?: unknown }).message;
        return this.fail(new SigctlError('INTERNAL', `bench worker failed: ${typeof why === 'string' ? why : 'unknown error'}`));
      }
      this.inbox.push(msg);
      this.deliver();
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => {
      this.exited = true;
      this.fail(new SigctlError('INTERNAL', 'bench worker exited'));
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  private deliver(): void {
    const w = this.waiter;
    if (w === undefined) return;
    const i = this.inbox.findIndex((m) => m.type === w.type);
    if (i < 0) return;
    this.waiter = undefined;
    w.resolve(this.inbox.splice(i, 1)[0]!);
  }

  get alive(): boolean {
    return !this.exited;
  }

  send(msg: unknown): void {
    if (!this.exited) this.worker.postMessage(msg);
  }

  /** The next message of `type`; rejects after `timeoutMs`, on abort, or when the worker fails. */
  next<T extends M['type']>(type: T, timeoutMs: number, signal?: AbortSignal): Promise<Extract<M, { type: T }>> {
    return new Promise<M>((resolve, reject) => {
      const onAbort = (): void => done(new SigctlError('ABORTED', 'interrupted'));
      const timer = setTimeout(() => done(new SigctlError('TIMEOUT', `bench worker did not report '${type}' within ${timeoutMs} ms`)), timeoutMs);
      const done = (err: Error | undefined, msg?: M): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.waiter === waiter) this.waiter = undefined;
        if (err !== undefined) reject(err);
        else resolve(msg!);
      };
      const waiter: Waiter<M> = { type, resolve: (m) => done(undefined, m), reject: (e) => done(e) };
      if (signal?.aborted === true) return done(new SigctlError('ABORTED', 'interrupted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = waiter;
      this.deliver();
      // A message already in the inbox wins over a failure that came after it (e.g. exit after 'closed').
      if (this.waiter === waiter && this.failure !== undefined) done(this.failure);
    }) as Promise<Extract<M, { type: T }>>;
  }

  /** Asks the worker to close (`closeMessage`), waits up to `timeoutMs` for `closed`, then terminates it. */
  async shutdown(closeMessage: unknown, timeoutMs = 5_000): Promise<void> {
    if (this.alive) {
      this.send(closeMessage);
      await this.next('closed', timeoutMs).catch(() => undefined);
    }
    await this.worker.terminate();
  }
}
