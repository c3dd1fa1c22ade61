/**
 * A pool of signaling load workers (worker_threads), so that load generation uses every core and
 * never shares an event loop with what it measures. Rooms are dealt out whole to workers (see
 * signaling-messages.ts for why). Every wait is bounded; close() always ends every worker.
 */
import { Worker } from 'node:worker_threads';
import { FromWorker, type BenchProtocol, type JoinedReport, type RunReport, type ToWorker, type WorkerSetup } from './signaling-messages.js';
import { WorkerHandle } from './worker-handle.js';
import type { Spread } from './spread.js';
import { compiledWorkerUrl } from './worker-url.js';

type Handle = WorkerHandle<FromWorker, { clients: number }>;

export interface LoadPlan {
  /** Nodes of the deployment; clients are spread round-robin (spread.ts). */
  urls: readonly string[];
  /** Each room's members over the nodes (default), or whole rooms (spread.ts). */
  spread?: Spread | undefined;
  /** What the clients speak (default v1). */
  protocol?: BenchProtocol | undefined;
  clients: number;
  roomSize: number;
  workers: number;
  /** Prefix of room ids, unique per run so that a shared deployment sees no collisions. */
  roomPrefix: string;
  joinTimeoutMs: number;
  token?: string | undefined;
}

/** Splits C clients into rooms of K (the last room may be smaller) dealt out to W workers. */
export function planRooms(clients: number, roomSize: number, workers: number, prefix: string): Array<Array<{ room: string; members: number; ordinal: number }>> {
  const rooms: Array<{ room: string; members: number; ordinal: number }> = [];
  for (let left = clients, n = 0; left > 0; left -= roomSize, n++) rooms.push({ room: `${prefix}-${n}`, members: Math.min(roomSize, left), ordinal: n });
  const w = Math.max(1, Math.min(workers, rooms.length));
  const out: Array<Array<{ room: string; members: number; ordinal: number }>> = Array.from({ length: w }, () => []);
  rooms.forEach((r, i) => out[i % w]!.push(r));
  return out;
}

/** The running pool. */
export class LoadGenerator {
  private constructor(private readonly handles: Handle[]) {}

  /** Starts the workers and waits until every client joined or failed. */
  static async start(plan: LoadPlan, signal?: AbortSignal): Promise<{ pool: LoadGenerator; joined: JoinedReport[] }> {
    const parts = planRooms(plan.clients, plan.roomSize, plan.workers, plan.roomPrefix);
    const url = compiledWorkerUrl('signaling-worker');
    let base = 0;
    const handles = parts.map((rooms) => {
      const clients = rooms.reduce((n, r) => n + r.members, 0);
      const setup: WorkerSetup = {
        urls: [...plan.urls],
        spread: plan.spread ?? 'members',
        ...(plan.token === undefined ? {} : { token: plan.token }),
        base,
        rooms,
        protocol: plan.protocol ?? 'v1',
        capacity: plan.roomSize,
        joinTimeoutMs: plan.joinTimeoutMs,
        joinConcurrency: 32,
      };
      base += clients;
      return new WorkerHandle(new Worker(url, { workerData: setup }), FromWorker, { clients });
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
    const total = this.handles.reduce((n, h) => n + h.info.clients, 0);
    for (const h of this.handles) h.send({ type: 'run', phase, rate: (rate * h.info.clients) / total, durationMs, drainMs } satisfies ToWorker);
    return Promise.all(this.handles.map((h) => h.next('result', durationMs + drainMs + 15_000, signal)));
  }

  private closing: Promise<void> | undefined;

  /** Closes every client and ends every worker (terminated if it does not finish in 5 s); idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.handles.map((h) => h.shutdown({ type: 'close' } satisfies ToWorker))).then(() => undefined);
    return this.closing;
  }

  /** Ends every worker at once (second Ctrl-C). */
  terminate(): void {
    for (const h of this.handles) void h.worker.terminate();
  }
}
