/**
 * One target of the signaling scenario, step by step: warm-up, memory baseline, C clients joined,
 * then measurement windows on demand (each with the server's CPU when the target is local), the
 * ramp, and clean-up. A plain run takes the windows one after another; a comparison with the
 * floor interleaves the windows of two series (signaling.ts).
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { SigctlError } from '../protocol/errors.js';
import { LoadGenerator } from './load-generator.js';
import type { MemoryReading } from './server-probe.js';
import type { SignalingOptions, SignalingRun } from './signaling-types.js';
import type { BenchProtocol, RunReport } from './signaling-messages.js';
import { concatSamples, round, roundSummary, summarize } from './stats.js';
import { countdown } from './progress.js';
import { urlList, type TargetUrls } from './spread.js';
import type { LocalTarget, TargetKind } from './target.js';
import { RampPlan, rampOutcome } from './ramp-plan.js';
import { foldRounds, isSustained, mergeCounts, missedOnLatencyOnly, type SignalingWindow } from './windows.js';

const DRAIN_MS = 3_000;

/** One window's raw material: what the workers reported and what the server spent. */
export interface Measured {
  durationS: number;
  reports: RunReport[];
  /** Server CPU in the window (local targets). */
  cpuMs?: number;
}

function aborted(signal: AbortSignal): void {
  if (signal.aborted) throw new SigctlError('ABORTED', 'interrupted');
}

/** Joins a few clients, relays for half a second, and closes them again. */
async function warmUp(urls: readonly string[], opts: SignalingOptions, protocol: BenchProtocol, workers: number): Promise<void> {
  const clients = Math.min(opts.clients, 20 * opts.roomSize);
  const { pool } = await LoadGenerator.start(
    { urls, spread: opts.spread, protocol, clients, roomSize: opts.roomSize, workers, roomPrefix: `warm-${randomBytes(4).toString('hex')}`, joinTimeoutMs: opts.joinTimeoutMs ?? 15_000 },
    opts.signal,
  );
  opts.onResource?.(() => pool.terminate());
  try {
    await pool.run(0, clients * 10, 500, 1_000, opts.signal);
  } finally {
    await pool.close();
  }
}

/** Adds the server CPU of the rounds to a folded window. */
export function withCpu(w: SignalingWindow, rounds: readonly Measured[]): SignalingWindow {
  if (rounds.some((r) => r.cpuMs === undefined)) return w;
  const cpuMs = rounds.reduce((n, r) => n + r.cpuMs!, 0);
  const relayed = w.delivered + w.duplicates;
  w.serverCpuMs = round(cpuMs, 1);
  w.serverCpuUsPerMessage = relayed === 0 ? NaN : round((cpuMs * 1000) / relayed, 2);
  if (rounds.length > 1) {
    w.rounds = rounds.length;
    w.roundCpuUsPerMessage = rounds.map((r) => {
      const n = r.reports.reduce((s, x) => s + x.delivered + x.duplicates, 0);
      return n === 0 ? NaN : round((r.cpuMs! * 1000) / n, 2);
    });
  }
  return w;
}

/** A target with C clients joined, ready for windows. */
export class Series {
  private phase = 0;

  private constructor(
    readonly kind: TargetKind | 'remote',
    readonly protocol: BenchProtocol,
    private readonly urls: string[],
    private readonly local: LocalTarget | undefined,
    private readonly opts: SignalingOptions,
    private readonly pool: LoadGenerator,
    readonly join: SignalingRun['join'],
    readonly server: SignalingRun['server'],
  ) {}

  /** Warms a local target up, reads its memory, joins the clients and reads it again. */
  static async open(kind: TargetKind | 'remote', target: TargetUrls, local: LocalTarget | undefined, opts: SignalingOptions): Promise<Series> {
    const urls = urlList(target);
    if (urls.length === 0) throw new SigctlError('USAGE', 'a series needs at least one URL');
    const progress = (text: string): void => opts.onProgress?.(`${kind}: ${text}`, false);
    const workers = opts.workers ?? Math.max(1, availableParallelism());
    // The floor speaks only as much v1 as its clients need (floor.ts).
    const protocol: BenchProtocol = kind === 'floor' ? 'v1' : (opts.protocol ?? 'v1');
    let baseline: MemoryReading | undefined;
    if (local !== undefined) {
      // A fresh server allocates on its first connections (code paths compiled, buffers and pools
      // created): a short warm-up before the baseline keeps that out of the per-connection figure.
      progress('warming the server up');
      await warmUp(urls, opts, protocol, workers);
      await sleep(300, undefined, { signal: opts.signal }).catch(() => undefined);
      baseline = await local.memory();
    }
    aborted(opts.signal);
    progress(`joining ${opts.clients} ${protocol} clients in rooms of ${opts.roomSize}`);
    const roomPrefix = `bench-${randomBytes(4).toString('hex')}`;
    const { pool, joined } = await LoadGenerator.start(
      { urls, spread: opts.spread, protocol, clients: opts.clients, roomSize: opts.roomSize, workers, roomPrefix, joinTimeoutMs: opts.joinTimeoutMs ?? 15_000, token: opts.token },
      opts.signal,
    );
    opts.onResource?.(() => pool.terminate());
    try {
      const join: SignalingRun['join'] = {
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
        const after = await local.memory();
        const heap = (m: MemoryReading): number => m.heapUsedKiB + m.externalKiB;
        const perConnection = (before: number, now: number): number => (join.ok === 0 ? NaN : round((now - before) / join.ok, 2));
        server = {
          pid: local.pid,
          rssBaselineKiB: baseline.rssKiB,
          rssJoinedKiB: after.rssKiB,
          rssPerConnectionKiB: perConnection(baseline.rssKiB, after.rssKiB),
          heapBaselineKiB: heap(baseline),
          heapJoinedKiB: heap(after),
          heapPerConnectionKiB: perConnection(heap(baseline), heap(after)),
          newSpaceKiB: after.newSpaceKiB,
        };
      }
      return new Series(kind, protocol, urls, local, opts, pool, join, server);
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** Load worker threads in use. */
  get workers(): number {
    return this.pool.workerCount;
  }

  /** Runs one window at `rate` signals/s in total and returns its raw material. */
  async measure(rate: number, durationS: number, label: string): Promise<Measured> {
    aborted(this.opts.signal);
    const what = `${label}: ${round(rate, 1)} signals/s for ${round(durationS, 2)} s`;
    const progress = (text: string, transient: boolean): void => this.opts.onProgress?.(`${this.kind}: ${text}`, transient);
    progress(what, false);
    const before = this.local?.sample();
    const reports = await countdown(Math.ceil(durationS), (left) => progress(`${what} (${left} s left)`, true), () =>
      this.pool.run(++this.phase, rate, Math.round(durationS * 1000), DRAIN_MS, this.opts.signal),
    );
    const after = this.local?.sample();
    return { durationS, reports, ...(before !== undefined && after !== undefined ? { cpuMs: after.cpuMs - before.cpuMs } : {}) };
  }

  /** One window, folded. */
  async window(rate: number, durationS: number, label: string): Promise<SignalingWindow> {
    const m = await this.measure(rate, durationS, label);
    return withCpu(foldRounds(rate, [m]), [m]);
  }

  /** The run's figures around a steady window measured by the caller. */
  run(steady: SignalingWindow): SignalingRun {
    const run: SignalingRun = { target: this.kind, protocol: this.protocol, url: this.urls[0]!, urls: this.urls, workers: this.workers, join: this.join, steady };
    if (this.server !== undefined) run.server = this.server;
    return run;
  }

  /**
   * The open-loop ramp: x factor per window while steps are sustained (one retry on latency
   * alone), then bisections between the last sustained rate and the first missed one (ramp-plan.ts).
   */
  async ramp(): Promise<NonNullable<SignalingRun['ramp']>> {
    const opts = this.opts;
    const factor = opts.rampFactor ?? 1.5;
    const maxSteps = opts.rampMaxSteps ?? 12;
    const refineSteps = opts.rampRefineSteps ?? 2;
    const plan = new RampPlan(opts.clients * opts.rate, factor, maxSteps, refineSteps);
    const steps: SignalingWindow[] = [];
    let stepNo = 0;
    let refineNo = 0;
    let generatorBoundRate: number | null = null;
    for (let next = plan.next(); next !== undefined; next = plan.next()) {
      const label = next.refine ? `ramp refinement ${++refineNo}/${refineSteps}` : `ramp step ${++stepNo}/${maxSteps}`;
      const measure = async (what: string): Promise<SignalingWindow> => {
        const w = await this.window(next.rate, opts.durationS, what);
        // A generator-bound window gets no verdict (see windows.ts).
        if (!w.generatorBound) w.sustained = isSustained(w, opts.rampBoundMs);
        if (next.refine) w.refine = true;
        steps.push(w);
        return w;
      };
      let w = await measure(label);
      if (w.sustained === false && missedOnLatencyOnly(w, opts.rampBoundMs)) {
        // One tail-latency spike (a noisy neighbour, hypervisor steal) must not end the ramp:
        // a step that lost nothing and kept its rate gets one more try.
        w = await measure(`${label} (retry)`);
        w.retry = true;
      }
      if (w.generatorBound) {
        // Beyond this rate the ramp would measure the load generator: it stops, and what it
        // sustained below is a lower bound of the server's maximum.
        generatorBoundRate = next.rate;
        break;
      }
      plan.record(next.rate, w.sustained === true);
    }
    return { boundMs: opts.rampBoundMs, factor, steps, ...rampOutcome(steps, plan.firstMissedRate, generatorBoundRate) };
  }

  /** Closes the clients; idempotent through the pool. */
  async close(): Promise<void> {
    this.opts.onProgress?.(`${this.kind}: closing clients`, false);
    await this.pool.close();
  }
}
