/**
 * Measurement windows of the signaling scenario: what one window reports, and how the per-worker
 * reports of one window (or of several interleaved rounds of one target) fold into it.
 */
import type { RunReport } from './signaling-messages.js';
import { concatSamples, round, roundSummary, summarize, type Summary } from './stats.js';

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
  /**
   * generatorElu passed GENERATOR_BOUND_ELU: the load generator, not the server, may have set this
   * window's rate and latency, so no verdict (ramp step sustained or not, goal met or not) is drawn from it.
   */
  generatorBound: boolean;
  /** Server CPU in this window (local targets). */
  serverCpuMs?: number;
  /** Server CPU per relayed message (delivery), µs (local targets). */
  serverCpuUsPerMessage?: number;
  /** Interleaved comparisons: the rounds this window sums, and the server CPU per message of each. */
  rounds?: number;
  roundCpuUsPerMessage?: number[];
  /** Ramp only: whether this step was sustained. */
  sustained?: boolean;
  /** Ramp only: this window repeated a step that missed on latency alone. */
  retry?: boolean;
  /** Ramp only: a bisection between the last sustained rate and the first missed one. */
  refine?: boolean;
}

/**
 * Event-loop utilisation of a load worker above which a window counts as generator-bound. A worker
 * busier than this queues its own sends and reads: the latencies and rates it records then include
 * its own backlog, whatever the server does (issue 17: a ramp whose workers ran at 0.87-0.9 ELU
 * reported the generator's limit as the server's).
 */
export const GENERATOR_BOUND_ELU = 0.8;

/** True when a window's busiest load worker passed GENERATOR_BOUND_ELU. */
export function isGeneratorBound(generatorElu: number): boolean {
  return generatorElu > GENERATOR_BOUND_ELU;
}

export function mergeCounts(parts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Folds the per-worker reports of one window into one figure set. */
export function foldWindow(targetRate: number, durationS: number, reports: readonly RunReport[]): SignalingWindow {
  return foldRounds(targetRate, [{ durationS, reports }]);
}

/**
 * Folds several windows of one target at one rate (the rounds of an interleaved comparison) into
 * one: counts and latency samples are pooled, and the rates divide by the summed window times.
 */
export function foldRounds(targetRate: number, rounds: ReadonlyArray<{ durationS: number; reports: readonly RunReport[] }>): SignalingWindow {
  const reports = rounds.flatMap((r) => r.reports);
  const sum = (f: (r: RunReport) => number): number => reports.reduce((n, r) => n + f(r), 0);
  const sent = sum((r) => r.sent);
  const expected = sum((r) => r.expected);
  const delivered = sum((r) => r.delivered);
  // Workers of one window run side by side (the longest is the window); rounds run one after another.
  const sendS = rounds.reduce((n, r) => n + Math.max(...r.reports.map((x) => x.sendMs), 1), 0) / 1000;
  const windowS = rounds.reduce((n, r) => n + Math.max(...r.reports.map((x) => x.windowMs), 1), 0) / 1000;
  return {
    targetRate: round(targetRate, 1),
    durationS: round(rounds.reduce((n, r) => n + r.durationS, 0), 3),
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
    generatorBound: isGeneratorBound(Math.max(0, ...reports.map((r) => r.elu))),
  };
}

/**
 * A ramp step is sustained when p99 stays within the bound, nothing is lost or duplicated, no error
 * came back, and the target rate was reached. A step that misses on latency alone is tried once more.
 * A generator-bound window is never sustained (and the ramp does not count it as missed either).
 */
export function isSustained(w: SignalingWindow, boundMs: number): boolean {
  return (
    !w.generatorBound &&
    w.relayLatencyMs.count > 0 &&
    w.relayLatencyMs.p99 <= boundMs &&
    w.lost === 0 &&
    w.duplicates === 0 &&
    Object.keys(w.errors).length === 0 &&
    w.sendRate >= 0.9 * w.targetRate
  );
}

/** Everything but the latency bound was fine: nothing lost, no errors, the target rate reached. */
export function missedOnLatencyOnly(w: SignalingWindow, boundMs: number): boolean {
  return !isSustained(w, boundMs) && isSustained(w, Infinity);
}

