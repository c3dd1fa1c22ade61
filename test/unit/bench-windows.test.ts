import { describe, expect, it } from 'vitest';
import { interleaveRounds, pairedRoundRatios } from '../../src/bench/signaling.js';
import type { RunReport } from '../../src/bench/signaling-messages.js';
import { foldRounds, foldWindow } from '../../src/bench/windows.js';

function report(over: Partial<RunReport>): RunReport {
  return {
    type: 'result',
    phase: 1,
    sent: 0,
    expected: 0,
    delivered: 0,
    duplicates: 0,
    late: 0,
    errors: {},
    sendMs: 1000,
    windowMs: 1000,
    latencyMs: new Float64Array(0),
    elu: 0.1,
    ...over,
  };
}

describe('bench windows', () => {
  it('folds the workers of one window side by side: rates divide by the longest worker', () => {
    const w = foldWindow(100, 1, [
      report({ sent: 50, expected: 50, delivered: 50, sendMs: 1000, windowMs: 1200, latencyMs: new Float64Array([1, 2]) }),
      report({ sent: 50, expected: 50, delivered: 49, sendMs: 800, windowMs: 1000, latencyMs: new Float64Array([3]), errors: { X: 1 } }),
    ]);
    expect(w).toMatchObject({ sent: 100, expected: 100, delivered: 99, lost: 1, sendRate: 100, errors: { X: 1 } });
    expect(w.deliveryRate).toBeCloseTo(99 / 1.2, 1);
    expect(w.relayLatencyMs.count).toBe(3);
  });

  it('folds interleaved rounds one after another: durations and window times add up, samples pool', () => {
    const round = (sent: number, ms: number, lat: number[]) => ({
      durationS: ms / 1000,
      reports: [report({ sent, expected: sent, delivered: sent, sendMs: ms, windowMs: ms, latencyMs: new Float64Array(lat) })],
    });
    const w = foldRounds(100, [round(100, 1000, [1, 2]), round(300, 3000, [3, 4, 5])]);
    expect(w).toMatchObject({ durationS: 4, sent: 400, delivered: 400, deliveredRatio: 1, sendRate: 100, deliveryRate: 100 });
    expect(w.relayLatencyMs.count).toBe(5);
    expect(w.relayLatencyMs.max).toBe(5);
  });

  it('cuts a steady window into at most 8 rounds of at least half a second', () => {
    expect([0.2, 0.5, 1, 1.9, 2, 10, 3600].map(interleaveRounds)).toEqual([1, 1, 2, 3, 4, 8, 8]);
  });

  it('pairs the rounds of sigctl and the floor by index', () => {
    expect(pairedRoundRatios([20, 22, 40], [20, 20, 20])).toEqual([1, 1.1, 2]);
    expect(pairedRoundRatios([20], [20])).toBeUndefined();
    expect(pairedRoundRatios([20, 21], [20])).toBeUndefined();
  });
});
