/**
 * A pool of signaling load workers (worker_threads), so that load generation uses every core and
 * never shares an event loop with what it measures. Rooms are dealt out whole to workers (see
 * signaling-messages.ts for why). Every wait is bounded; close() always ends every worker.
 */
import { Worker } from 'node:worker_threads';
import { SigctlError } from '../protocol/errors.js';
import { FromWorker, type JoinedReport, type RunReport, type ToWorker, type WorkerSetup } from './signaling-messages.js';
import { compiledWorkerUrl } from './worker-url.js';

export interface LoadPlan {
  url: string;
  clients: number;
  roomSize: number;
  workers: number;
  /** Prefix of room ids, unique per run so that a shared deployment sees no collisions. */
  roomPrefix: string;
  joinTimeoutMs: number;
}

type Waiter = { type: FromWorker['type']; resolve: (m: FromWorker) => void; reject: (e: Error) => void };

class WorkerHandle {
  readonly clients: number;
  private readonly inbox: FromWorker[] = [];
  private waiter: Waiter | undefined;
  private failure: Error | undefined;
  private exited = false;

  constructor(
    readonly worker: Worker,
    clients: number,
  ) {
    this.clients = clients;
    worker.on('message', (raw: unknown) => {
      const parsed = FromWorker.safeParse(raw);
      if (!parsed.success) return this.fail(new SigctlError('INTERNAL', `bad message from load worker: ${parsed.error.message}`));
      if (parsed.data.type === 'fatal') return this.fail(new SigctlError('INTERNAL', `load worker failed: ${parsed.data.message}`));
      this.inbox.push(parsed.data);
      this.deliver();
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => {
      this.exited = true;
      this.fail(new SigctlError('INTERNAL', 'load worker exited'));
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

  send(msg: ToWorker): void {
    if (!this.exited) this.worker.postMessage(msg);
  }

  /** The next message of `type`, or a rejection after `timeoutMs`, on abort, or when the worker dies. */
  next<T extends FromWorker['type']>(type: T, timeoutMs: number, signal?: AbortSignal): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise<FromWorker>((resolve, reject) => {
      const onAbort = (): void => done(new SigctlError('ABORTED', 'interrupted'));
      const timer = setTimeout(() => done(new SigctlError('TIMEOUT', `load worker did not report '${type}' within ${timeoutMs} ms`)), timeoutMs);
      const done = (err: Error | undefined, msg?: FromWorker): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.waiter?.type === type) this.waiter = undefined;
        if (err !== undefined) reject(err);
        else resolve(msg!);
      };
      if (signal?.aborted === true) return done(new SigctlError('ABORTED', 'interrupted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const waiter: Waiter = { type, resolve: (m) => done(undefined, m), reject: (e) => done(e) };
      this.waiter = waiter;
      this.deliver();
      // A message already in the inbox wins over a failure that came after it (e.g. exit after 'closed').
      if (this.waiter === waiter && this.failure !== undefined) done(this.failure);
    }) as Promise<Extract<FromWorker, { type: T }>>;
  }

  get alive(): boolean {
    return !this.exited;
  }
}

/** Splits C clients into rooms of K (the last room may be smaller) dealt out to W workers. */
export function planRooms(clients: number, roomSize: number, workers: number, prefix: string): Array<Array<{ room: string; members: number }>> {
  const rooms: Array<{ room: string; members: number }> = [];
  for (let left = clients, n = 0; left > 0; left -= roomSize, n++) rooms.push({ room: `${prefix}-${n}`, members: Math.min(roomSize, left) });
  const w = Math.max(1, Math.min(workers, rooms.length));
  const out: Array<Array<{ room: string; members: number }>> = Array.from({ length: w }, () => []);
  rooms.forEach((r, i) => out[i % w]!.push(r));
  return out;
}

/** The running pool. */
export class LoadGenerator {
  private constructor(private readonly handles: WorkerHandle[]) {}

  /** Starts the workers and waits until every client joined or failed. */
  static async start(plan: LoadPlan, signal?: AbortSignal): Promise<{ pool: LoadGenerator; joined: JoinedReport[] }> {
    const parts = planRooms(plan.clients, plan.roomSize, plan.workers, plan.roomPrefix);
    const url = compiledWorkerUrl('signaling-worker');
    let base = 0;
    const handles = parts.map((rooms) => {
      const clients = rooms.reduce((n, r) => n + r.members, 0);
      const setup: WorkerSetup = {
        url: plan.url,
        base,
        rooms,
        capacity: plan.roomSize,
        joinTimeoutMs: plan.joinTimeoutMs,
        joinConcurrency: 32,
      };
      base += clients;
      return new WorkerHandle(new Worker(url, { workerData: setup }), clients);
    });
    const pool = new LoadGenerator(handles);
    try {
      // Joining runs in lanes of 32 per worker; allow every lane to time out a few times over.
      const budget = plan.joinTimeoutMs * (Math.ceil(plan.clients / (32 * handles.length)) + 1) + 5_000;
      const joined = await Promise.all(handles.map((h) => h.next('joined', budget, signal)));
      return { pool, joined };
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  get workerCount(): number {
    return this.handles.length;
  }

  /** One window at `rate` messages/s in total, shared by workers in proportion to their clients. */
  async run(phase: number, rate: number, durationMs: number, drainMs: number, signal?: AbortSignal): Promise<RunReport[]> {
    const total = this.handles.reduce((n, h) => n + h.clients, 0);
    for (const h of this.handles) h.send({ type: 'run', phase, rate: (rate * h.clients) / total, durationMs, drainMs });
    return Promise.all(this.handles.map((h) => h.next('result', durationMs + drainMs + 15_000, signal)));
  }

  private closing: Promise<void> | undefined;

  /** Closes every client and ends every worker (terminated if it does not finish in 5 s); idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all(
      this.handles.map(async (h) => {
        if (h.alive) {
          h.send({ type: 'close' });
          await h.next('closed', 5_000).catch(() => undefined);
        }
        await h.worker.terminate();
      }),
    ).then(() => undefined);
    return this.closing;
  }

  /** Ends every worker at once (second Ctrl-C). */
  terminate(): void {
    for (const h of this.handles) void h.worker.terminate();
  }
}
