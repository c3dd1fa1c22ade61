/**
 * The connect and throughput scenarios: P pairs of peers (werift, or libdatachannel), one room
 * each, the two peers of a pair in different peer workers, through the server under test (a local `sigctl serve` child, or `url`). connect reports
 * per-phase join latency the way pion's webrtc-bench splits it; throughput then pushes bulk data
 * over every channel at once (backpressure on bufferedAmount) and measures ping RTT.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SigctlError } from '../protocol/errors.js';
import { ChildWorker } from './child-worker.js';
import type { LoadGeneratorKind } from './report.js';
import { requireEngine } from './engine.js';
import { ENGINES, FromPeerWorker, type Engine, type EnginePatches, type PairResult, type PairTransfer, type PeerRole, type PeerWorkerSetup, type ToPeerWorker } from './peer-messages.js';
import { benchServerEnv } from './signaling.js';
import { concatSamples, round, roundSummary, summarize, type Summary } from './stats.js';
import { countdown, type ProgressFn } from './progress.js';
import { urlList, type TargetUrls } from './spread.js';
import { startLocalTarget, type LocalTarget, type TargetKind } from './target.js';
import { WorkerHandle } from './worker-handle.js';
import { compiledWorkerUrl } from './worker-url.js';

export interface PeerRunOptions {
  /** A running deployment, or several nodes of one (each pair's two peers on different nodes); absent: a local server. */
  url?: TargetUrls | undefined;
  /** Bearer token for `url` (a deployment with auth). */
  token?: string | undefined;
  pairs: number;
  /** Per pair: start to open channel (ms, default 30000). */
  pairTimeoutMs?: number;
  /** Peer workers per side (first peers, newcomers); default one per core, at most one per pair. */
  workers?: number;
  /** Bind ICE to this address (default: 127.0.0.1 for a local server, every interface for --url). */
  bindAddress?: string | undefined;
  /** The data-channel engine (default werift); ENGINE_MISSING when its package is not installed. */
  engine?: Engine | undefined;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  /** Progress text; `transient` updates (a countdown) are for a spinner only, not for log lines. */
  onProgress?: ProgressFn;
  onResource?: (kill: () => void) => void;
}

export interface ThroughputRunOptions extends PeerRunOptions {
  durationS: number;
  messageSize: number;
  /** In-order delivery (false: --unordered; still reliable). */
  ordered: boolean;
  /** The data-channel engine; werift is the one sigctl ships with. */
  engine: Engine;
  /** Pings for RTT after the bulk phase (default 100). */
  pings?: number;
}

/** Consecutive phases from the newcomer's start() to an open data channel; they add up to `total`. */
export interface PhaseBreakdown {
  /** ws connect -> joined. */
  signaling: Summary;
  /** joined -> answer received (offer created, sent, answered, relayed back). */
  offerAnswer: Summary;
  /** answer received -> ICE connected. */
  ice: Summary;
  /** ICE connected -> DTLS connected. */
  dtls: Summary;
  /** DTLS connected -> data channel open. */
  channel: Summary;
  total: Summary;
}

export interface ConnectRun {
  target: TargetKind | 'remote';
  /** The engine both peers of every pair ran, and its package version. */
  engine: Engine;
  engineVersion: string;
  /** Where the peers ran (each peer of a pair in a different worker). */
  workerKind: LoadGeneratorKind;
  /** The first (or only) target URL. */
  url: string;
  /** Every target URL; each pair's peers were spread over them (PairResult.urls). */
  urls: string[];
  /** Peer workers in all, both sides (each pair's first peer and newcomer run in different ones). */
  workers: number;
  pairs: number;
  connected: number;
  failed: number;
  errors: Record<string, number>;
  phasesMs: PhaseBreakdown;
  perPair: PairResult[];
  /** werift engine: the runtime patches its peers ran with (applied, and skipped with the reason). */
  patches?: EnginePatches | undefined;
}

export interface ThroughputRun extends ConnectRun {
  transfer: {
    engine: Engine;
    ordered: boolean;
    messageSize: number;
    durationS: number;
    perPair: Array<Omit<PairTransfer, 'rttMs'> & { mbps: number }>;
    /** MB/s (10^6 bytes/s) per pair. */
    perPairMBps: Summary;
    /** All bytes delivered / the longest pair's transfer time. */
    aggregateMBps: number;
    rttMs: Summary;
    failures: number;
    errors: Record<string, number>;
  };
}

const SEGMENTS = ['signaling', 'offerAnswer', 'ice', 'dtls', 'channel'] as const;

/** Splits each pair's timeline into consecutive segments that add up to its total (a missing or out-of-order mark adds 0). */
export function phaseSegments(at: PairResult['at']): Record<(typeof SEGMENTS)[number] | 'total', number> | undefined {
  if (at.channelOpen === null) return undefined;
  const marks = [at.joined, at.answerReceived, at.iceConnected, at.dtlsConnected, at.channelOpen];
  let prev = 0;
  const out = { signaling: 0, offerAnswer: 0, ice: 0, dtls: 0, channel: 0, total: at.channelOpen };
  marks.forEach((m, i) => {
    const t = Math.min(Math.max(m ?? prev, prev), at.channelOpen!);
    out[SEGMENTS[i]!] = t - prev;
    prev = t;
  });
  return out;
}

export function breakdown(pairs: readonly PairResult[]): PhaseBreakdown {
  const segs = pairs.flatMap((p) => {
    const s = p.ok ? phaseSegments(p.at) : undefined;
    return s === undefined ? [] : [s];
  });
  const col = (k: keyof PhaseBreakdown): Summary => roundSummary(summarize(segs.map((s) => s[k])));
  return { signaling: col('signaling'), offerAnswer: col('offerAnswer'), ice: col('ice'), dtls: col('dtls'), channel: col('channel'), total: col('total') };
}

function count(errors: Record<string, number>, code: string): void {
  errors[code] = (errors[code] ?? 0) + 1;
}

type Handle = WorkerHandle<FromPeerWorker, { pairs: number }>;

/** Where an engine's peers run: libdatachannel cannot live in worker threads (see child-worker.ts). */
export function workerKindOf(engine: Engine | undefined): LoadGeneratorKind {
  return engine === 'node-datachannel' ? 'child_processes' : 'worker_threads';
}

/** The peer workers of a run: the newcomers' (they send and report) and how many there are in all. */
interface PeerWorkers {
  newcomers: Handle[];
  total: number;
}

/**
 * Merges both sides' `connected` reports: the newcomer's timeline, failed when either peer failed
 * (a first peer whose channel never opened leaves nothing to measure), with the newcomer's error
 * unless the newcomer was never started because its first peer had failed.
 */
export function mergePairs(newcomers: readonly PairResult[], firsts: readonly PairResult[]): PairResult[] {
  const byPair = new Map(firsts.map((p) => [p.pair, p]));
  return newcomers
    .map((p): PairResult => {
      const first = byPair.get(p.pair);
      // A newcomer not started because its first peer failed (ABORTED) reports the first's error.
      if (!p.ok && !(p.error === 'ABORTED' && first !== undefined && !first.ok)) return p;
      if (first === undefined) return { ...p, ok: false, error: 'INTERNAL', detail: 'no report from the first peer' };
      if (first.ok) return p;
      return { ...p, ok: false, error: first.error ?? 'INTERNAL', ...(first.detail === undefined ? {} : { detail: first.detail }) };
    })
    .sort((a, b) => a.pair - b.pair);
}

/**
 * Peer workers: connects every pair, optionally transfers, always closes. The two peers of a pair
 * run in different workers (the first peers in one set, the newcomers in another, each of them
 * `workers` strong), so each peer has an event loop of its own, as each `sigctl peer` has:
 * werift's sender and receiver never share a JavaScript thread. Nothing is pinned to CPUs.
 */
async function withPeers<T>(urls: readonly string[], opts: PeerRunOptions & { ordered?: boolean }, local: boolean, body: (workers: PeerWorkers, pairs: PairResult[], patches: EnginePatches | undefined) => Promise<T>): Promise<T> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const rooms = Array.from({ length: opts.pairs }, (_, i) => `${prefix}-${i}`);
  const w = Math.max(1, Math.min(opts.workers ?? availableParallelism(), rooms.length));
  const parts: string[][] = Array.from({ length: w }, () => []);
  rooms.forEach((r, i) => parts[i % w]!.push(r));
  const bindAddress = opts.bindAddress ?? (local ? '127.0.0.1' : undefined);
  const pairTimeoutMs = opts.pairTimeoutMs ?? 30_000;
  const moduleUrl = compiledWorkerUrl('peer-worker');
  const engine = opts.engine ?? 'werift';
  const start = (role: PeerRole): Handle[] => {
    let base = 0;
    return parts.map((part) => {
      const setup: PeerWorkerSetup = {
        role,
        urls: [...urls],
        rooms: part,
        base,
        pairTimeoutMs,
        engine,
        ordered: opts.ordered ?? true,
        ...(bindAddress === undefined ? {} : { bindAddress }),
        ...(opts.token === undefined || local ? {} : { token: opts.token }),
      };
      base += part.length;
      // libdatachannel cannot live in worker threads (see child-worker.ts): its peers get processes.
      const worker = workerKindOf(engine) === 'child_processes' ? new ChildWorker(setup, opts.env) : new Worker(moduleUrl, { workerData: setup });
      return new WorkerHandle(worker, FromPeerWorker, { pairs: part.length });
    });
  };
  const firsts = start('first');
  const newcomers = start('newcomer');
  const handles = [...firsts, ...newcomers];
  opts.onResource?.(() => handles.forEach((h) => (h.worker instanceof ChildWorker ? h.worker.kill() : void h.worker.terminate())));
  try {
    const n = handles.length;
    const where = workerKindOf(engine) === 'child_processes' ? `child process${n === 1 ? '' : 'es'}` : `worker thread${n === 1 ? '' : 's'}`;
    opts.onProgress?.(`connecting ${opts.pairs} pair${opts.pairs === 1 ? '' : 's'} in ${n} ${where} (each peer of a pair in its own)`);
    // werift loads in each worker (most of a fresh peer's start-up: BENCHMARKS.md, "A fresh
    // `sigctl peer` process") before the first pair starts; the newcomers' workers
    // load while the first peers join, and connect once all of them have.
    const bound = pairTimeoutMs * 2 + 15_000;
    const joined = await Promise.all(firsts.map((h) => h.next('joined', bound, opts.signal)));
    const skip = joined.flatMap((r) => r.pairs.filter((p) => p.error !== undefined).map((p) => p.pair));
    for (const h of newcomers) h.send({ type: 'connect', skip } satisfies ToPeerWorker);
    const [firstReports, newcomerReports] = await Promise.all([Promise.all(firsts.map((h) => h.next('connected', bound, opts.signal))), Promise.all(newcomers.map((h) => h.next('connected', bound, opts.signal)))]);
    const pairs = mergePairs(
      newcomerReports.flatMap((r) => r.pairs),
      firstReports.flatMap((r) => r.pairs),
    );
    const patches = [...newcomerReports, ...firstReports].find((r) => r.patches !== undefined)?.patches;
    return await body({ newcomers, total: n }, pairs, patches);
  } finally {
    opts.onProgress?.('closing peers');
    await Promise.all(handles.map((h) => h.shutdown({ type: 'close' } satisfies ToPeerWorker, 10_000)));
  }
}

function connectRun(kind: TargetKind | 'remote', urls: readonly string[], engine: { engine: Engine; engineVersion: string }, workers: number, pairs: PairResult[], patches: EnginePatches | undefined): ConnectRun {
  const errors: Record<string, number> = {};
  for (const p of pairs) if (!p.ok) count(errors, p.error ?? 'INTERNAL');
  const connected = pairs.filter((p) => p.ok).length;
  return { target: kind, ...engine, workerKind: workerKindOf(engine.engine), url: urls[0]!, urls: [...urls], workers, pairs: pairs.length, connected, failed: pairs.length - connected, errors, phasesMs: breakdown(pairs), perPair: pairs, ...(patches === undefined ? {} : { patches }) };
}

async function withTarget<T>(opts: PeerRunOptions, body: (kind: TargetKind | 'remote', urls: readonly string[], local: LocalTarget | undefined) => Promise<T>): Promise<T> {
  const urls = urlList(opts.url);
  if (urls.length > 0) return body('remote', urls, undefined);
  opts.onProgress?.('starting a local server');
  const target = await startLocalTarget({ kind: 'sigctl', env: opts.env, serverEnv: benchServerEnv(opts.pairs * 2, 2), signal: opts.signal });
  opts.onResource?.(() => target.kill());
  try {
    return await body('sigctl', [target.url], target);
  } finally {
    await target.close();
  }
}

/** The connect scenario. */
export async function runConnect(opts: PeerRunOptions): Promise<ConnectRun> {
  const engine = opts.engine ?? 'werift';
  const version = { engine, engineVersion: requireEngine(engine) };
  return withTarget(opts, (kind, urls, local) =>
    withPeers(urls, opts, local !== undefined, (workers, pairs, patches) => Promise.resolve(connectRun(kind, urls, version, workers.total, pairs, patches))),
  );
}

/** The throughput scenario: connect, then every pair transfers at the same time. */
export async function runThroughput(opts: ThroughputRunOptions): Promise<ThroughputRun> {
  if (!(ENGINES as readonly string[]).includes(opts.engine)) throw new SigctlError('ENGINE_MISSING', `unknown engine ${String(opts.engine)} (expected ${ENGINES.join(' or ')})`);
  const version = { engine: opts.engine, engineVersion: requireEngine(opts.engine) };
  const durationMs = Math.round(opts.durationS * 1000);
  return withTarget(opts, (kind, urls, local) =>
    withPeers(urls, opts, local !== undefined, async ({ newcomers, total }, pairs, patches) => {
      const run = connectRun(kind, urls, version, total, pairs, patches);
      if (opts.signal.aborted) throw new SigctlError('ABORTED', 'interrupted');
      opts.onProgress?.(`sending ${opts.messageSize}-byte messages on ${run.connected} channel${run.connected === 1 ? '' : 's'} for ${opts.durationS} s`);
      const pings = opts.pings ?? 100;
      const pingBudgetMs = 5_000;
      for (const h of newcomers) h.send({ type: 'transfer', durationMs, messageSize: opts.messageSize, pings, pingBudgetMs } satisfies ToPeerWorker);
      const reports = await countdown(
        opts.durationS,
        (left) => opts.onProgress?.(`sending ${opts.messageSize}-byte messages on ${run.connected} channel${run.connected === 1 ? '' : 's'} (${left} s left)`, true),
        () => Promise.all(newcomers.map((h) => h.next('transferred', durationMs + 10_000 + pingBudgetMs + 15_000, opts.signal))),
      );
      const transfers = reports.flatMap((r) => r.pairs).sort((a, b) => a.pair - b.pair);
      const errors: Record<string, number> = {};
      for (const t of transfers) if (t.error !== undefined) count(errors, t.error);
      const perPair = transfers.map(({ rttMs: _rtt, ...t }) => ({ ...t, mbps: t.ms > 0 ? round(t.bytes / 1e6 / (t.ms / 1000), 3) : 0 }));
      const totalBytes = transfers.reduce((n, t) => n + t.bytes, 0);
      const longest = Math.max(0, ...transfers.map((t) => t.ms));
      return {
        ...run,
        transfer: {
          engine: opts.engine,
          ordered: opts.ordered,
          messageSize: opts.messageSize,
          durationS: opts.durationS,
          perPair,
          perPairMBps: roundSummary(summarize(perPair.map((p) => p.mbps))),
          aggregateMBps: longest > 0 ? round(totalBytes / 1e6 / (longest / 1000), 3) : 0,
          rttMs: roundSummary(summarize(concatSamples(transfers.map((t) => t.rttMs)))),
          failures: transfers.filter((t) => t.error !== undefined).length,
          errors,
        },
      };
    }),
  );
}

/** Gate figures of a connect run. */
export function connectFigures(run: ConnectRun): { joinP95Ms: number; failures: number } {
  return { joinP95Ms: run.phasesMs.total.p95, failures: run.failed };
}

/** Gate figures of a throughput run. */
export function throughputFigures(run: ThroughputRun): { joinP95Ms: number; failures: number; mbps: number } {
  return { joinP95Ms: run.phasesMs.total.p95, failures: run.failed + run.transfer.failures, mbps: run.transfer.aggregateMBps };
}
