import { describe, expect, it } from 'vitest';
import { checkGatesApply, evaluateGates, gateError } from '../../src/bench/gates.js';
import { isSigctlError } from '../../src/protocol/errors.js';

describe('bench gates', () => {
  it('checks only the gates that were given', () => {
    expect(evaluateGates({}, { joinP95Ms: 5, relayP99Ms: 1, failures: 0 })).toEqual([]);
  });

  it('passes upper bounds at the limit and fails above it', () => {
    const r = evaluateGates({ maxRelayP99: 10, maxFailures: 0 }, { relayP99Ms: 10, failures: 1 });
    expect(r).toEqual([
      { flag: '--max-relay-p99', measure: 'relay p99 (ms)', limit: 10, actual: 10, passed: true },
      { flag: '--max-failures', measure: 'failures', limit: 0, actual: 1, passed: false },
    ]);
  });

  it('treats --min-mbps as a lower bound', () => {
    expect(evaluateGates({ minMbps: 5 }, { mbps: 5.5 })[0]?.passed).toBe(true);
    expect(evaluateGates({ minMbps: 5 }, { mbps: 4.9 })[0]?.passed).toBe(false);
  });

  it('fails a gate whose figure was not measured', () => {
    const [g] = evaluateGates({ maxJoinP95: 100 }, { joinP95Ms: NaN });
    expect(g).toMatchObject({ actual: null, passed: false });
  });

  it('names every missed gate in one GATE_FAILED error that exits 3', () => {
    const err = gateError(evaluateGates({ maxRelayP99: 1, maxFailures: 0, maxJoinP95: 1000 }, { relayP99Ms: 2.5, failures: 3, joinP95Ms: 4 }));
    expect(isSigctlError(err)).toBe(true);
    expect(err?.code).toBe('GATE_FAILED');
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toContain('--max-relay-p99 1: relay p99 (ms) was 2.5');
    expect(err?.message).toContain('--max-failures 0: failures was 3');
    expect(err?.message).not.toContain('--max-join-p95');
    expect(gateError(evaluateGates({ maxFailures: 0 }, { failures: 0 }))).toBeUndefined();
  });

  it('rejects a gate the scenario cannot check as a usage error', () => {
    expect(() => checkGatesApply('signaling', { minMbps: 1 })).toThrow(/--min-mbps does not apply to the signaling scenario \(only to: throughput\)/);
    expect(() => checkGatesApply('connect', { maxRelayP99: 1 })).toThrow(/only to: signaling/);
    expect(() => checkGatesApply('throughput', { minMbps: 1, maxJoinP95: 1, maxFailures: 0 })).not.toThrow();
  });
});
