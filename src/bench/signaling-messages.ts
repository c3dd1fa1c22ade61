/**
 * Messages between the signaling orchestrator (main thread) and its load workers (worker_threads),
 * defined once and validated on receipt at both ends. Every room lives entirely inside one worker,
 * so a relay latency is always the difference of two performance.now() readings of ONE thread.
 */
import { z } from 'zod';
import { SPREADS } from './spread.js';

/** What the load clients speak (signaling-dialects.ts): protocol v1, STOMP 1.2, or the raw room relay. */
export const BENCH_PROTOCOLS = ['v1', 'stomp', 'raw'] as const;
export const BenchProtocol = z.enum(BENCH_PROTOCOLS);
export type BenchProtocol = z.infer<typeof BenchProtocol>;

/** What a load worker is started with (its `workerData`). */
export const WorkerSetup = z.object({
  /** Nodes of the deployment; client `base + i` connects to urls[(base + i) % n] (spread.ts). */
  urls: z.array(z.string()).min(1),
  /** Bearer token for a deployment that requires auth (sent as Authorization, never logged). */
  token: z.string().optional(),
  /** Global index of this worker's first client; client i of the worker is sender `base + i`. */
  base: z.number().int().nonnegative(),
  /** Rooms of this worker: id, member count and number in the run (for spread `rooms`). */
  rooms: z.array(z.object({ room: z.string(), members: z.number().int().positive(), ordinal: z.number().int().nonnegative() })),
  /** `members`: client `base + i` on urls[(base + i) % n]; `rooms`: every member of room r on urls[r % n]. */
  spread: z.enum(SPREADS),
  /** What the clients speak. */
  protocol: BenchProtocol,
  /** Capacity asked for in `join` (the room size K). */
  capacity: z.number().int().positive(),
  joinTimeoutMs: z.number().int().positive(),
  /** Connections a worker opens at once while joining. */
  joinConcurrency: z.number().int().positive(),
});
export type WorkerSetup = z.infer<typeof WorkerSetup>;

/** One measurement window: send at `rate` messages/s (this worker's share) for `durationMs`. */
export const RunCommand = z.object({
  type: z.literal('run'),
  phase: z.number().int().nonnegative(),
  rate: z.number().nonnegative(),
  durationMs: z.number().int().nonnegative(),
  /** Longest wait after the last send for outstanding deliveries. */
  drainMs: z.number().int().nonnegative(),
});

export const CloseCommand = z.object({ type: z.literal('close') });

export const ToWorker = z.discriminatedUnion('type', [RunCommand, CloseCommand]);
export type ToWorker = z.infer<typeof ToWorker>;
export type RunCommand = z.infer<typeof RunCommand>;

const Float64 = z.instanceof(Float64Array);
const Counts = z.record(z.string(), z.number().int().nonnegative());

export const JoinedReport = z.object({
  type: z.literal('joined'),
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** ws connect -> `joined` per successful client, ms. */
  joinMs: Float64,
  /** Failure reasons (error codes from the server, TIMEOUT, SERVER_UNREACHABLE, ...). */
  errors: Counts,
  /** Joined clients per URL (aligned with WorkerSetup.urls). */
  joinedByUrl: z.array(z.number().int().nonnegative()),
  /** Rooms whose joined members sit on more than one URL (cross-node rooms). */
  spanningRooms: z.number().int().nonnegative(),
});
export type JoinedReport = z.infer<typeof JoinedReport>;

export const RunReport = z.object({
  type: z.literal('result'),
  phase: z.number().int().nonnegative(),
  sent: z.number().int().nonnegative(),
  /** Deliveries owed: each signal is owed to every other joined member of its room. */
  expected: z.number().int().nonnegative(),
  /** Distinct (sender, seq) deliveries received. */
  delivered: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  /** Deliveries of an earlier window that arrived in this one (not counted as delivered). */
  late: z.number().int().nonnegative(),
  /** ms between the first and the last send. */
  sendMs: z.number().nonnegative(),
  /** ms from the first send until every delivery arrived or the drain deadline. */
  windowMs: z.number().nonnegative(),
  /** Relay latency per delivery, ms. */
  latencyMs: Float64,
  /** Error frames received, by code; closes counted as CLOSED_<code>. */
  errors: Counts,
  /** Event-loop utilisation of the worker during the window (1.0 = the generator was saturated). */
  elu: z.number().nonnegative(),
});
export type RunReport = z.infer<typeof RunReport>;

export const ClosedReport = z.object({ type: z.literal('closed') });
export const FatalReport = z.object({ type: z.literal('fatal'), message: z.string() });

export const FromWorker = z.discriminatedUnion('type', [JoinedReport, RunReport, ClosedReport, FatalReport]);
export type FromWorker = z.infer<typeof FromWorker>;
