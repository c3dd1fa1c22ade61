/**
 * CI gates: thresholds given on the command line, checked against a finished report. A missed gate
 * is reported by name with the measured value; the CLI then exits 3 (SigctlError GATE_FAILED).
 * A gate whose figure could not be measured (no samples) counts as missed: CI must not pass blind.
 */
import { SigctlError } from '../protocol/errors.js';

/** Thresholds; an absent one is not checked. */
export interface GateSpec {
  /** ms: p95 of join latency (connect: total; signaling: ws connect -> joined). */
  maxJoinP95?: number | undefined;
  /** MB/s (10^6 bytes per second), aggregate data-channel throughput. */
  minMbps?: number | undefined;
  /** ms: p99 of signaling relay latency. */
  maxRelayP99?: number | undefined;
  /** Failed pairs/joins, plus lost or duplicated signals and error frames. */
  maxFailures?: number | undefined;
}

export type GateFlag = '--max-join-p95' | '--min-mbps' | '--max-relay-p99' | '--max-failures';

export interface GateResult {
  flag: GateFlag;
  /** What was measured, e.g. "join p95 (ms)". */
  measure: string;
  limit: number;
  /** null when it could not be measured. */
  actual: number | null;
  passed: boolean;
}

/** The figures a scenario offers to gates; undefined means the scenario has no such figure. */
export interface GateFigures {
  joinP95Ms?: number;
  mbps?: number;
  relayP99Ms?: number;
  failures?: number;
}

const FLAG_OF: Record<keyof GateSpec, GateFlag> = {
  maxJoinP95: '--max-join-p95',
  minMbps: '--min-mbps',
  maxRelayP99: '--max-relay-p99',
  maxFailures: '--max-failures',
};

/** The gates a scenario can check; others are a usage error. */
export const GATES_BY_SCENARIO: Readonly<Record<'connect' | 'throughput' | 'signaling', ReadonlyArray<keyof GateSpec>>> = {
  connect: ['maxJoinP95', 'maxFailures'],
  throughput: ['maxJoinP95', 'minMbps', 'maxFailures'],
  signaling: ['maxJoinP95', 'maxRelayP99', 'maxFailures'],
};

/** Throws USAGE when a gate is given that `scenario` cannot check. */
export function checkGatesApply(scenario: keyof typeof GATES_BY_SCENARIO, spec: GateSpec): void {
  const allowed = GATES_BY_SCENARIO[scenario];
  for (const key of Object.keys(FLAG_OF) as Array<keyof GateSpec>) {
    if (spec[key] !== undefined && !allowed.includes(key)) {
      const where = (Object.keys(GATES_BY_SCENARIO) as Array<keyof typeof GATES_BY_SCENARIO>).filter((s) => GATES_BY_SCENARIO[s].includes(key));
      throw new SigctlError('USAGE', `${FLAG_OF[key]} does not apply to the ${scenario} scenario (only to: ${where.join(', ')})`);
    }
  }
}

function measured(v: number | undefined): number | null {
  return v === undefined || !Number.isFinite(v) ? null : v;
}

/** Checks every given gate against the figures. */
export function evaluateGates(spec: GateSpec, figures: GateFigures): GateResult[] {
  const out: GateResult[] = [];
  const upper = (flag: GateFlag, measure: string, limit: number | undefined, v: number | undefined): void => {
    if (limit === undefined) return;
    const actual = measured(v);
    out.push({ flag, measure, limit, actual, passed: actual !== null && actual <= limit });
  };
  upper('--max-join-p95', 'join p95 (ms)', spec.maxJoinP95, figures.joinP95Ms);
  if (spec.minMbps !== undefined) {
    const actual = measured(figures.mbps);
    out.push({ flag: '--min-mbps', measure: 'aggregate MB/s', limit: spec.minMbps, actual, passed: actual !== null && actual >= spec.minMbps });
  }
  upper('--max-relay-p99', 'relay p99 (ms)', spec.maxRelayP99, figures.relayP99Ms);
  upper('--max-failures', 'failures', spec.maxFailures, figures.failures);
  return out;
}

/** The GATE_FAILED error naming every missed gate, or undefined when all passed. */
export function gateError(results: readonly GateResult[]): SigctlError | undefined {
  const missed = results.filter((g) => !g.passed);
  if (missed.length === 0) return undefined;
  const parts = missed.map((g) =>
    g.actual === null
      ? `${g.flag} ${g.limit}: ${g.measure} was not measured`
      : `${g.flag} ${g.limit}: ${g.measure} was ${Math.round(g.actual * 1000) / 1000}`,
  );
  return new SigctlError('GATE_FAILED', `${missed.length} gate${missed.length === 1 ? '' : 's'} missed: ${parts.join('; ')}`, {
    details: { missed: missed.map((g) => g.flag) },
  });
}
