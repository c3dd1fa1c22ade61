/**
 * The signaling scenario: C plain WebSocket clients in rooms of K, each sending M signals/s for D
 * seconds, against a remote deployment (`url`) or a local `sigctl serve` child, optionally compared
 * with the floor relay (`vsFloor`). Reports relay latency, exact delivery accounting, achieved
 * rates, server CPU per relayed message and memory per joined connection (local only), and an
 * open-loop ramp: the rate grows by `rampFactor` per step until p99 passes `rampBoundMs`.
 *
 * With `vsFloor` both servers run at once, each with its own C clients, and the steady window is
 * cut into rounds that alternate between them (sigctl, floor, sigctl, floor, ...): a machine whose
 * speed drifts (other load, hypervisor steal) then moves both figures alike, instead of favouring
 * whichever series ran in the quieter minute.
 */
import { SigctlError } from '../protocol/errors.js';
import type { BenchProtocol } from './signaling-messages.js';
import { round } from './stats.js';
import { Series, withCpu, type Measured } from './series.js';
import type { SignalingComparison, SignalingOptions, SignalingResult, SignalingRun } from './signaling-types.js';
import { urlList, type TargetUrls } from './spread.js';
import { startLocalTarget, type LocalTarget, type TargetKind } from './target.js';
import { pinServerAndGenerator } from './pinning.js';
import { foldRounds, type SignalingWindow } from './windows.js';

export { foldRounds, foldWindow, isSustained, type SignalingWindow } from './windows.js';

export type { SignalingComparison, SignalingOptions, SignalingResult, SignalingRun } from './signaling-types.js';

/**
 * Limits raised on the local `sigctl serve` child: the bench measures relay cost, not the rate
 * limiter. The default capacity is the room size, since STOMP joins ask for none.
 */
export function benchServerEnv(clients: number, roomSize: number): Record<string, string> {
  return {
    SIGCTL_LIMITS_MESSAGES_PER_SECOND: '1000000',
    SIGCTL_LIMITS_BURST: '1000000',
    SIGCTL_LIMITS_MAX_CONNECTIONS_PER_IP: String(Math.max(256, clients * 2)),
    SIGCTL_ROOMS_MAX_CAPACITY: String(Math.max(16, roomSize)),
    SIGCTL_ROOMS_CAPACITY: String(roomSize),
    SIGCTL_DRAIN_MS: '0',
  };
}

/** sigctl CPU per relayed message over the floor's, at most: issue 4 for v1, issue 15 for the compat codecs. */
export const CPU_GOAL: Readonly<Record<BenchProtocol, number>> = { v1: 1.2, stomp: 1.5, raw: 1.5 };

/** RSS growth below which a per-connection RSS ratio is not computed (see compareToFloor). */
export const RSS_RESOLUTION_KIB = 4096;

/** Rounds the steady window of a comparison is cut into (at most 8, each at least half a second). */
export function interleaveRounds(durationS: number): number {
  return Math.max(1, Math.min(8, Math.floor(durationS / 0.5)));
}

/** The median of sigctl/floor per round: rounds i of both ran next to each other in time. */
export function pairedRoundRatios(sigctl: readonly number[] | undefined, floor: readonly number[] | undefined): number[] | undefined {
  if (sigctl === undefined || floor === undefined || sigctl.length !== floor.length || sigctl.length < 2) return undefined;
  return sigctl.map((v, i) => round(v / floor[i]!, 3));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One series of windows against one target: joins, a warm-up window, the steady window, the ramp. */
export async function runSeries(kind: TargetKind | 'remote', target: TargetUrls, local: LocalTarget | undefined, opts: SignalingOptions): Promise<SignalingRun> {
  const series = await Series.open(kind, target, local, opts);
  try {
    const baseRate = opts.clients * opts.rate;
    // Warm-up (not reported): JIT and allocator settle before CPU per message is measured.
    await series.window(baseRate, Math.min(1, opts.durationS / 5), 'warm-up');
    const run = series.run(await series.window(baseRate, opts.durationS, 'steady'));
    if (opts.ramp) run.ramp = await series.ramp();
    return run;
  } finally {
    await series.close();
  }
}

/** sigctl and the floor side by side, their steady rounds interleaved (see the module comment). */
async function runComparison(sigctlTarget: LocalTarget, floorTarget: LocalTarget, opts: SignalingOptions): Promise<SignalingResult> {
  const sigctl = await Series.open('sigctl', sigctlTarget.url, sigctlTarget, opts);
  try {
    const floor = await Series.open('floor', floorTarget.url, floorTarget, opts);
    try {
      const baseRate = opts.clients * opts.rate;
      const warm = Math.min(1, opts.durationS / 5);
      await sigctl.window(baseRate, warm, 'warm-up');
      await floor.window(baseRate, warm, 'warm-up');
      const rounds = interleaveRounds(opts.durationS);
      const each = opts.durationS / rounds;
      const measured: Record<'sigctl' | 'floor', Measured[]> = { sigctl: [], floor: [] };
      for (let i = 0; i < rounds; i++) {
        // Alternate which goes first, so that neither always follows the other's load.
        const order = i % 2 === 0 ? [sigctl, floor] : [floor, sigctl];
        for (const s of order) measured[s.kind as 'sigctl' | 'floor'].push(await s.measure(baseRate, each, `steady round ${i + 1}/${rounds}`));
      }
      const steady = (m: Measured[]): SignalingWindow => withCpu(foldRounds(baseRate, m), m);
      const sigctlRun = sigctl.run(steady(measured.sigctl));
      const floorRun = floor.run(steady(measured.floor));
      if (opts.ramp) {
        sigctlRun.ramp = await sigctl.ramp();
        floorRun.ramp = await floor.ramp();
      }
      return { runs: [sigctlRun, floorRun], comparison: compareToFloor(sigctlRun, floorRun) };
    } finally {
      await floor.close();
    }
  } finally {
    await sigctl.close();
  }
}


function ratio(a: number | undefined | null, b: number | undefined | null): number | null {
  if (a === undefined || a === null || b === undefined || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return round(a / b, 3);
}

/** sigctl against the floor, as the goals of issue 4 (and issue 15's CPU goal for STOMP and raw) phrase them. */
export function compareToFloor(sigctl: SignalingRun, floor: SignalingRun): SignalingComparison {
  const cpuTotal = ratio(sigctl.steady.serverCpuUsPerMessage, floor.steady.serverCpuUsPerMessage);
  // Interleaved rounds: the median of the per-round ratios, so that one round disturbed by
  // something else on the machine does not decide the figure; the ratio of totals is kept too.
  const byRound = pairedRoundRatios(sigctl.steady.roundCpuUsPerMessage, floor.steady.roundCpuUsPerMessage)?.filter(Number.isFinite);
  const cpu = byRound !== undefined && byRound.length > 0 ? round(median(byRound), 3) : cpuTotal;
  // No verdict from generator-bound windows: they measured the load generator as much as the servers.
  const boundSteady = [sigctl, floor].filter((r) => r.steady.generatorBound).map((r) => `${r.target} steady window generator-bound (ELU ${r.steady.generatorElu})`);
  const boundRamp = [sigctl, floor].filter((r) => r.ramp?.generatorBoundRate != null).map((r) => `${r.target} ramp stopped at the load generator's limit (${Math.round(r.ramp!.generatorBoundRate!)}/s)`);
  // RSS moves in pages and malloc arenas: a growth of a few MiB (C=200) says nothing per connection.
  const resolvable = (r: SignalingRun): boolean => r.server !== undefined && r.server.rssJoinedKiB - r.server.rssBaselineKiB >= RSS_RESOLUTION_KIB;
  const mem = resolvable(sigctl) && resolvable(floor) ? ratio(sigctl.server?.rssPerConnectionKiB, floor.server?.rssPerConnectionKiB) : null;
  const heap = ratio(sigctl.server?.heapPerConnectionKiB, floor.server?.heapPerConnectionKiB);
  const ramp = boundRamp.length > 0 ? null : ratio(sigctl.ramp?.maxSustainedRate, floor.ramp?.maxSustainedRate);
  const noVerdict = { ...(boundSteady.length > 0 ? { cpu: boundSteady.join('; ') } : {}), ...(boundRamp.length > 0 ? { ramp: boundRamp.join('; ') } : {}) };
  const exact = (r: SignalingRun): boolean => r.steady.deliveredRatio === 1 && r.steady.duplicates === 0;
  const cpuGoal = CPU_GOAL[sigctl.protocol];
  return {
    cpuPerMessageRatio: cpu,
    cpuPerMessageRatioTotal: cpuTotal,
    ...(byRound === undefined ? {} : { cpuRatioByRound: byRound }),
    rssPerConnectionRatio: mem,
    heapPerConnectionRatio: heap,
    rampMaxRatio: ramp,
    ...(Object.keys(noVerdict).length > 0 ? { noVerdict } : {}),
    cpuGoal,
    goals: {
      cpu: cpu === null || boundSteady.length > 0 ? null : cpu <= cpuGoal,
      memory: mem === null ? null : mem <= 1.2,
      delivery: exact(sigctl) && exact(floor),
      ramp: ramp === null ? null : ramp >= 0.8,
    },
  };
}

async function withLocal<T>(kind: TargetKind, opts: SignalingOptions, body: (t: LocalTarget) => Promise<T>): Promise<T> {
  opts.onProgress?.(`${kind}: starting a local server${kind === 'sigctl' && opts.protocol !== undefined && opts.protocol !== 'v1' ? ` (--compat ${opts.protocol})` : ''}`);
  const protocol = opts.protocol ?? 'v1';
  const compat = kind === 'sigctl' && protocol !== 'v1' ? protocol : undefined;
  const target = await startLocalTarget({ kind, env: opts.env, serverEnv: benchServerEnv(opts.clients, opts.roomSize), memoryProbe: true, signal: opts.signal, compat });
  opts.onResource?.(() => target.kill());
  try {
    return await body(target);
  } finally {
    await target.close();
  }
}

/** Runs `body` with the local servers and this process (the load generator) on separate CPUs when possible. */
async function pinnedRun(targets: readonly LocalTarget[], opts: SignalingOptions, body: () => Promise<SignalingResult>): Promise<SignalingResult> {
  if (opts.pinCpus === false) return { ...(await body()), pinning: { applied: false, serverCpus: [], generatorCpus: [], note: 'not pinned: pinning was switched off' } };
  const pinned = await pinServerAndGenerator(
    targets.map((t) => t.pid),
    process.pid,
  );
  opts.onProgress?.(pinned.pinning.note, false);
  try {
    return { ...(await body()), pinning: pinned.pinning };
  } finally {
    await pinned.restore();
  }
}

/** Runs the signaling scenario. Throws SigctlError('ABORTED') when `signal` fires; cleans up either way. */
export async function runSignaling(opts: SignalingOptions): Promise<SignalingResult> {
  const urls = urlList(opts.url);
  if (urls.length > 0) {
    if (opts.vsFloor) throw new SigctlError('USAGE', '--vs-floor needs a local server: leave out --url');
    return { runs: [await runSeries('remote', urls, undefined, opts)] };
  }
  if (!opts.vsFloor) return withLocal('sigctl', opts, (t) => pinnedRun([t], opts, async () => ({ runs: [await runSeries('sigctl', t.url, t, opts)] })));
  return withLocal('sigctl', opts, (s) => withLocal('floor', opts, (f) => pinnedRun([s, f], opts, () => runComparison(s, f, opts))));
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
