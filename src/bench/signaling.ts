/**
 * The signaling scenario: C plain WebSocket clients in rooms of K, each sending M signals/s for D
 * seconds, against a remote deployment (`url`) or a local `sigctl serve` child, optionally followed
 * by the floor relay in the same series. Reports relay latency, exact delivery accounting, achieved
 * rates, server CPU per relayed message and RSS per joined connection (local only), and an
 * open-loop ramp: the rate grows by `rampFactor` per step until p99 passes `rampBoundMs`.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { SigctlError } from '../protocol/errors.js';
import { LoadGenerator } from './load-generator.js';
import type { RunReport } from './signaling-messages.js';
import { concatSamples, round, roundSummary, summarize, type Summary } from './stats.js';
import { countdown, type ProgressFn } from './progress.js';
import { urlList, type TargetUrls } from './spread.js';
import { startLocalTarget, type LocalTarget, type TargetKind } from './target.js';
import type { MemoryReading } from './server-probe.js';

export interface SignalingOptions {
  /**
   * A running deployment, or several nodes of one (clients spread round-robin, so rooms span
   * nodes); absent: a local `sigctl serve` child on 127.0.0.1 port 0.
   */
  url?: TargetUrls | undefined;
  /** Bearer token for `url` (a deployment with auth). */
  token?: string | undefined;
  clients: number;
  roomSize: number;
  /** Signals per second per client. */
  rate: number;
  durationS: number;
  ramp: boolean;
  /** p99 relay latency above which a ramp step is not sustained. */
  rampBoundMs: number;
  rampFactor?: number;
  rampMaxSteps?: number;
  /** Also run the floor relay, with the same clients, in the same series (local targets only). */
  vsFloor: boolean;
  /** Load worker threads; default: one per core, at most one per room. */
  workers?: number;
  joinTimeoutMs?: number;
  /** Environment for local server children. */
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  /** Progress text; `transient` updates (a countdown) are for a spinner only, not for log lines. */
  onProgress?: ProgressFn;
  /** Called with every started child/pool so a second Ctrl-C can kill it at once. */
  onResource?: (kill: () => void) => void;
}

/** One measurement window. */
export interface SignalingWindow {
  /** Target rate, signals/s in total. */
  targetRate: number;
  durationS: number;
  sent: number;
  /** Deliveries owed (each signal to every other member of its room). */
  expected: number;
  delivered: number;
  duplicates: number;
  lost: number;
  /** Deliveries of an earlier window that arrived late (excluded from `delivered`). */
  late: number;
  /** delivered / expected: exactly 1 when nothing was lost (duplicates are reported apart). */
  deliveredRatio: number;
  errors: Record<string, number>;
  /** Achieved send rate, signals/s. */
  sendRate: number;
  /** Achieved delivery rate (relayed messages/s). */
  deliveryRate: number;
  relayLatencyMs: Summary;
  /** Highest event-loop utilisation of a load worker: near 1 means the generator, not the server, was the limit. */
  generatorElu: number;
  /** Server CPU in this window (local targets). */
  serverCpuMs?: number;
  /** Server CPU per relayed message (delivery), µs (local targets). */
  serverCpuUsPerMessage?: number;
  /** Ramp only: whether this step was sustained. */
  sustained?: boolean;
  /** Ramp only: this window repeated a step that missed on latency alone. */
  retry?: boolean;
}

export interface SignalingRun {
  target: TargetKind | 'remote';
  /** The first (or only) target URL. */
  url: string;
  /** Every target URL; clients were spread over them round-robin. */
  urls: string[];
  /** Load worker threads used. */
  workers: number;
  join: {
    ok: number;
    failed: number;
    errors: Record<string, number>;
    latencyMs: Summary;
    /** Joined clients per target URL. */
    byUrl: Array<{ url: string; joined: number }>;
    rooms: number;
    /** Rooms whose members sit on more than one target (cross-node rooms). */
    spanningRooms: number;
  };
  steady: SignalingWindow;
  /**
   * Local targets: memory in KiB before the clients connected and once all had joined, each read
   * after a full GC with the young generation resident and fixed in size (server-probe.ts).
   * heap = V8 heap in use + external memory of JS objects.
   */
  server?: {
    pid: number;
    rssBaselineKiB: number;
    rssJoinedKiB: number;
    rssPerConnectionKiB: number;
    heapBaselineKiB: number;
    heapJoinedKiB: number;
    heapPerConnectionKiB: number;
    newSpaceKiB: number;
  };
  ramp?: { boundMs: number; factor: number; steps: SignalingWindow[]; maxSustainedRate: number | null };
}

export interface SignalingComparison {
  /** sigctl / floor. */
  cpuPerMessageRatio: number | null;
  rssPerConnectionRatio: number | null;
  /** Informational: the same for the JS heap alone (in use + external). */
  heapPerConnectionRatio: number | null;
  /** sigctl / floor highest sustained ramp rate. */
  rampMaxRatio: number | null;
  /** The goals of issue 4: CPU and RSS <= 1.2x the floor, delivered/sent exactly 1, ramp >= 0.8x. */
  goals: { cpu: boolean | null; memory: boolean | null; delivery: boolean; ramp: boolean | null };
}

export interface SignalingResult {
  runs: SignalingRun[];
  comparison?: SignalingComparison;
}

/** Limits raised on the local `sigctl serve` child: the bench measures relay cost, not the rate limiter. */
export function benchServerEnv(clients: number, roomSize: number): Record<string, string> {
  return {
    SIGCTL_LIMITS_MESSAGES_PER_SECOND: '1000000',
    SIGCTL_LIMITS_BURST: '1000000',
    SIGCTL_LIMITS_MAX_CONNECTIONS_PER_IP: String(Math.max(256, clients * 2)),
    SIGCTL_ROOMS_MAX_CAPACITY: String(Math.max(16, roomSize)),
    SIGCTL_DRAIN_MS: '0',
  };
}

function aborted(signal: AbortSignal): void {
  if (signal.aborted) throw new SigctlError('ABORTED', 'interrupted');
}

function mergeCounts(parts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Folds the per-worker reports of one window into one figure set. */
export function foldWindow(targetRate: number, durationS: number, reports: readonly RunReport[]): SignalingWindow {
  const sum = (f: (r: RunReport) => number): number => reports.reduce((n, r) => n + f(r), 0);
  const sent = sum((r) => r.sent);
  const expected = sum((r) => r.expected);
  const delivered = sum((r) => r.delivered);
  const sendS = Math.max(...reports.map((r) => r.sendMs), 1) / 1000;
  const windowS = Math.max(...reports.map((r) => r.windowMs), 1) / 1000;
  return {
    targetRate: round(targetRate, 1),
    durationS,
    sent,
    expected,
    delivered,
    duplicates: sum((r) => r.duplicates),
    lost: expected - delivered,
    late: sum((r) => r.late),
    deliveredRatio: expected === 0 ? NaN : delivered / expected,
    errors: mergeCounts(reports.map((r) => r.errors)),
    sendRate: round(sent / sendS, 1),
    deliveryRate: round(delivered / windowS, 1),
    relayLatencyMs: roundSummary(summarize(concatSamples(reports.map((r) => r.latencyMs)))),
    generatorElu: round(Math.max(0, ...reports.map((r) => r.elu)), 3),
  };
}

/**
 * A ramp step is sustained when p99 stays within the bound, nothing is lost or duplicated, no error
 * came back, and the target rate was reached. A step that misses on latency alone is tried once more.
 */
export function isSustained(w: SignalingWindow, boundMs: number): boolean {
  return (
    w.relayLatencyMs.count > 0 &&
    w.relayLatencyMs.p99 <= boundMs &&
    w.lost === 0 &&
    w.duplicates === 0 &&
    Object.keys(w.errors).length === 0 &&
    w.sendRate >= 0.9 * w.targetRate
  );
}

/** Everything but the latency bound was fine: nothing lost, no errors, the target rate reached. */
function missedOnLatencyOnly(w: SignalingWindow, boundMs: number): boolean {
  return !isSustained(w, boundMs) && isSustained(w, Infinity);
}

const DRAIN_MS = 3_000;

/** Joins a few clients, relays for half a second, and closes them again. */
async function warmUp(urls: readonly string[], opts: SignalingOptions, workers: number): Promise<void> {
  const clients = Math.min(opts.clients, 20 * opts.roomSize);
  const { pool } = await LoadGenerator.start(
    { urls, clients, roomSize: opts.roomSize, workers, roomPrefix: `warm-${randomBytes(4).toString('hex')}`, joinTimeoutMs: opts.joinTimeoutMs ?? 15_000 },
    opts.signal,
  );
  opts.onResource?.(() => pool.terminate());
  try {
    await pool.run(0, clients * 10, 500, 1_000, opts.signal);
  } finally {
    await pool.close();
  }
}

/** One series of windows against one target (exported for tests and for composing series). */
export async function runSeries(kind: TargetKind | 'remote', target: TargetUrls, local: LocalTarget | undefined, opts: SignalingOptions): Promise<SignalingRun> {
  const urls = urlList(target);
  if (urls.length === 0) throw new SigctlError('USAGE', 'runSeries needs at least one URL');
  const progress = (text: string, transient = false): void => opts.onProgress?.(`${kind}: ${text}`, transient);
  let phase = 0;
  let baseline: MemoryReading | undefined;
  const workers = opts.workers ?? Math.max(1, availableParallelism());
  if (local !== undefined) {
    // A fresh server allocates on its first connections (code paths compiled, buffers and pools
    // created): a short warm-up before the baseline keeps that out of the per-connection figure.
    progress('warming the server up');
    await warmUp(urls, opts, workers);
    await sleep(300, undefined, { signal: opts.signal }).catch(() => undefined);
    baseline = await local.memory();
  }
  aborted(opts.signal);
  progress(`joining ${opts.clients} clients in rooms of ${opts.roomSize}`);
  const roomPrefix = `bench-${randomBytes(4).toString('hex')}`;
  const { pool, joined } = await LoadGenerator.start(
    { urls, clients: opts.clients, roomSize: opts.roomSize, workers, roomPrefix, joinTimeoutMs: opts.joinTimeoutMs ?? 15_000, token: opts.token },
    opts.signal,
  );
  opts.onResource?.(() => pool.terminate());
  try {
    const join = {
      ok: joined.reduce((n, j) => n + j.ok, 0),
      failed: joined.reduce((n, j) => n + j.failed, 0),
      errors: mergeCounts(joined.map((j) => j.errors)),
      latencyMs: roundSummary(summarize(concatSamples(joined.map((j) => j.joinMs)))),
      byUrl: urls.map((u, i) => ({ url: u, joined: joined.reduce((n, j) => n + (j.joinedByUrl[i] ?? 0), 0) })),
      rooms: Math.ceil(opts.clients / opts.roomSize),
      spanningRooms: joined.reduce((n, j) => n + j.spanningRooms, 0),
    };
    let server: SignalingRun['server'];
    if (local !== undefined && baseline !== undefined) {
      await sleep(300, undefined, { signal: opts.signal }).catch(() => undefined);
      const joinedMem = await local.memory();
      const heap = (m: MemoryReading): number => m.heapUsedKiB + m.externalKiB;
      const perConnection = (before: number, after: number): number => (join.ok === 0 ? NaN : round((after - before) / join.ok, 2));
      server = {
        pid: local.pid,
        rssBaselineKiB: baseline.rssKiB,
        rssJoinedKiB: joinedMem.rssKiB,
        rssPerConnectionKiB: perConnection(baseline.rssKiB, joinedMem.rssKiB),
        heapBaselineKiB: heap(baseline),
        heapJoinedKiB: heap(joinedMem),
        heapPerConnectionKiB: perConnection(heap(baseline), heap(joinedMem)),
        newSpaceKiB: joinedMem.newSpaceKiB,
      };
    }

    const window = async (rate: number, durationS: number, label: string): Promise<SignalingWindow> => {
      aborted(opts.signal);
      const what = `${label}: ${round(rate, 1)} signals/s for ${durationS} s`;
      progress(what);
      const before = local?.sample();
      const reports = await countdown(durationS, (left) => progress(`${what} (${left} s left)`, true), () =>
        pool.run(++phase, rate, Math.round(durationS * 1000), DRAIN_MS, opts.signal),
      );
      const after = local?.sample();
      const w = foldWindow(rate, durationS, reports);
      if (before !== undefined && after !== undefined) {
        w.serverCpuMs = round(after.cpuMs - before.cpuMs, 1);
        const relayed = w.delivered + w.duplicates;
        w.serverCpuUsPerMessage = relayed === 0 ? NaN : round(((after.cpuMs - before.cpuMs) * 1000) / relayed, 2);
      }
      return w;
    };

    const baseRate = opts.clients * opts.rate;
    // Warm-up (not reported): JIT and allocator settle before CPU per message is measured.
    await window(baseRate, Math.min(1, opts.durationS / 5), 'warm-up');
    const steady = await window(baseRate, opts.durationS, 'steady');
    const run: SignalingRun = { target: kind, url: urls[0]!, urls, workers: pool.workerCount, join, steady, ...(server === undefined ? {} : { server }) };

    if (opts.ramp) {
      const factor = opts.rampFactor ?? 1.5;
      const maxSteps = opts.rampMaxSteps ?? 12;
      const steps: SignalingWindow[] = [];
      let rate = baseRate;
      for (let i = 0; i < maxSteps; i++) {
        let w = await window(rate, opts.durationS, `ramp step ${i + 1}/${maxSteps}`);
        w.sustained = isSustained(w, opts.rampBoundMs);
        steps.push(w);
        if (!w.sustained && missedOnLatencyOnly(w, opts.rampBoundMs)) {
          // One tail-latency spike (a noisy neighbour, hypervisor steal) must not end the ramp:
          // a step that lost nothing and kept its rate gets one more try.
          w = await window(rate, opts.durationS, `ramp step ${i + 1}/${maxSteps} (retry)`);
          w.sustained = isSustained(w, opts.rampBoundMs);
          w.retry = true;
          steps.push(w);
        }
        if (!w.sustained) break;
        rate *= factor;
      }
      const ok = steps.filter((s) => s.sustained === true);
      run.ramp = { boundMs: opts.rampBoundMs, factor, steps, maxSustainedRate: ok.length === 0 ? null : Math.max(...ok.map((s) => s.sendRate)) };
    }
    return run;
  } finally {
    progress('closing clients');
    await pool.close();
  }
}

function ratio(a: number | undefined | null, b: number | undefined | null): number | null {
  if (a === undefined || a === null || b === undefined || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return round(a / b, 3);
}

/** sigctl against the floor, as the goals of issue 4 phrase them. */
export function compareToFloor(sigctl: SignalingRun, floor: SignalingRun): SignalingComparison {
  const cpu = ratio(sigctl.steady.serverCpuUsPerMessage, floor.steady.serverCpuUsPerMessage);
  const mem = ratio(sigctl.server?.rssPerConnectionKiB, floor.server?.rssPerConnectionKiB);
  const heap = ratio(sigctl.server?.heapPerConnectionKiB, floor.server?.heapPerConnectionKiB);
  const ramp = ratio(sigctl.ramp?.maxSustainedRate, floor.ramp?.maxSustainedRate);
  const exact = (r: SignalingRun): boolean => r.steady.deliveredRatio === 1 && r.steady.duplicates === 0;
  return {
    cpuPerMessageRatio: cpu,
    rssPerConnectionRatio: mem,
    heapPerConnectionRatio: heap,
    rampMaxRatio: ramp,
    goals: {
      cpu: cpu === null ? null : cpu <= 1.2,
      memory: mem === null ? null : mem <= 1.2,
      delivery: exact(sigctl) && exact(floor),
      ramp: ramp === null ? null : ramp >= 0.8,
    },
  };
}

async function withLocal<T>(kind: TargetKind, opts: SignalingOptions, body: (t: LocalTarget) => Promise<T>): Promise<T> {
  opts.onProgress?.(`${kind}: starting a local server`);
  const target = await startLocalTarget({ kind, env: opts.env, serverEnv: benchServerEnv(opts.clients, opts.roomSize), memoryProbe: true, signal: opts.signal });
  opts.onResource?.(() => target.kill());
  try {
    return await body(target);
  } finally {
    await target.close();
  }
}

/** Runs the signaling scenario. Throws SigctlError('ABORTED') when `signal` fires; cleans up either way. */
export async function runSignaling(opts: SignalingOptions): Promise<SignalingResult> {
  const urls = urlList(opts.url);
  if (urls.length > 0) {
    if (opts.vsFloor) throw new SigctlError('USAGE', '--vs-floor needs a local server: leave out --url');
    return { runs: [await runSeries('remote', urls, undefined, opts)] };
  }
  const sigctl = await withLocal('sigctl', opts, (t) => runSeries('sigctl', t.url, t, opts));
  if (!opts.vsFloor) return { runs: [sigctl] };
  const floor = await withLocal('floor', opts, (t) => runSeries('floor', t.url, t, opts));
  return { runs: [sigctl, floor], comparison: compareToFloor(sigctl, floor) };
}

/** The figures gates check: the first run (sigctl or the remote deployment), never the floor. */
export function signalingFigures(result: SignalingResult): { joinP95Ms: number; relayP99Ms: number; failures: number } {
  const r = result.runs[0]!;
  const errors = Object.values(r.steady.errors).reduce((n, v) => n + v, 0);
  return {
    joinP95Ms: r.join.latencyMs.p95,
    relayP99Ms: r.steady.relayLatencyMs.p99,
    failures: r.join.failed + r.steady.lost + r.steady.duplicates + errors,
  };
}
