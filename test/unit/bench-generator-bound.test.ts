/**
 * `sigctl bench signaling` measures the server, not itself (issue 17): windows whose busiest load
 * worker passed 0.8 event-loop utilisation are marked generator-bound and get no verdict, the ramp
 * stops there and its ratio to the floor is refused, and the report says so. The ELU figures are
 * the ones the issue recorded (a ramp whose generator ran at 0.87-0.9).
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { parseCpuList, splitCpus } from '../../src/bench/pinning.js';
import { rampOutcome } from '../../src/bench/ramp-plan.js';
import { renderSignaling } from '../../src/bench/render.js';
import type { BenchReport } from '../../src/bench/report.js';
import { compareToFloor, type SignalingResult, type SignalingRun } from '../../src/bench/signaling.js';
import type { RunReport } from '../../src/bench/signaling-messages.js';
import { foldWindow, GENERATOR_BOUND_ELU, isSustained, type SignalingWindow } from '../../src/bench/windows.js';

function report(elu: number, over: Partial<RunReport> = {}): RunReport {
  return {
    type: 'result',
    phase: 1,
    sent: 1000,
    expected: 1000,
    delivered: 1000,
    duplicates: 0,
    late: 0,
    errors: {},
    sendMs: 1000,
    windowMs: 1000,
    latencyMs: new Float64Array([1, 2, 3]),
    elu,
    ...over,
  };
}

/** A window at `rate` whose two load workers ran at these ELUs. */
function window(rate: number, elus: [number, number], sustained?: boolean): SignalingWindow {
  const w = foldWindow(rate, 1, [report(elus[0], { sent: rate / 2, expected: rate / 2, delivered: rate / 2 }), report(elus[1], { sent: rate / 2, expected: rate / 2, delivered: rate / 2 })]);
  if (sustained !== undefined && !w.generatorBound) w.sustained = sustained;
  return w;
}

function run(target: 'sigctl' | 'floor', steady: SignalingWindow, steps: SignalingWindow[], generatorBoundRate: number | null): SignalingRun {
  return {
    target,
    protocol: 'v1',
    url: 'ws://127.0.0.1:1/ws',
    urls: ['ws://127.0.0.1:1/ws'],
    workers: 2,
    join: { ok: 200, failed: 0, errors: {}, latencyMs: steady.relayLatencyMs, byUrl: [], rooms: 100, spanningRooms: 0 },
    steady: { ...steady, serverCpuUsPerMessage: target === 'sigctl' ? 11 : 10 },
    ramp: { boundMs: 50, factor: 1.5, steps, ...rampOutcome(steps, undefined, generatorBoundRate) },
  };
}

describe('generator-bound windows', () => {
  it('marks a window whose busiest worker passed 0.8 ELU, and never calls it sustained', () => {
    expect(GENERATOR_BOUND_ELU).toBe(0.8);
    const bound = window(2000, [0.87, 0.9]);
    expect(bound).toMatchObject({ generatorElu: 0.9, generatorBound: true, lost: 0, sendRate: 2000 });
    expect(isSustained(bound, 50)).toBe(false);
    const oneWorker = window(2000, [0.5, 0.81]);
    expect(oneWorker.generatorBound).toBe(true);
    const fine = window(2000, [0.62, 0.8]);
    expect(fine.generatorBound).toBe(false);
    expect(isSustained(fine, 50)).toBe(true);
  });

  it('takes the ramp maximum only from sustained windows that are not generator-bound', () => {
    const steps = [window(2000, [0.4, 0.45], true), window(3000, [0.6, 0.62], true), window(4500, [0.87, 0.9])];
    expect(steps.map((s) => s.sustained)).toEqual([true, true, undefined]);
    expect(rampOutcome(steps, undefined, 4500)).toEqual({ maxSustainedRate: 3000, firstMissedRate: null, generatorBoundRate: 4500 });
  });

  it('refuses the ramp ratio and the CPU verdict when the windows behind them are generator-bound', () => {
    const sigSteps = [window(2000, [0.4, 0.45], true), window(3000, [0.87, 0.9])];
    const floorSteps = [window(2000, [0.4, 0.4], true), window(3000, [0.5, 0.5], true), window(4500, [0.6, 0.6], false)];
    const c = compareToFloor(run('sigctl', window(2000, [0.88, 0.3]), sigSteps, 3000), run('floor', window(2000, [0.3, 0.3]), floorSteps, null));
    expect(c.rampMaxRatio).toBeNull();
    expect(c.goals.ramp).toBeNull();
    expect(c.noVerdict?.ramp).toBe("sigctl ramp stopped at the load generator's limit (3000/s)");
    expect(c.cpuPerMessageRatio).toBe(1.1);
    expect(c.goals.cpu).toBeNull();
    expect(c.noVerdict?.cpu).toBe('sigctl steady window generator-bound (ELU 0.88)');

    const clean = compareToFloor(run('sigctl', window(2000, [0.3, 0.3]), floorSteps, null), run('floor', window(2000, [0.3, 0.3]), floorSteps, null));
    expect(clean).toMatchObject({ rampMaxRatio: 1, cpuPerMessageRatio: 1.1, goals: { cpu: true, ramp: true } });
    expect(clean.noVerdict).toBeUndefined();
  });

  it('shows the marks, the stopped ramp and the refused verdicts in the human report', () => {
    const sigSteps = [window(2000, [0.4, 0.45], true), window(3000, [0.87, 0.9])];
    const floorSteps = [window(2000, [0.4, 0.4], true), window(3000, [0.5, 0.5], false)];
    const runs = [run('sigctl', window(2000, [0.3, 0.3]), sigSteps, 3000), run('floor', window(2000, [0.3, 0.3]), floorSteps, null)];
    const doc: BenchReport<SignalingResult> = {
      scenario: 'signaling',
      parameters: { clients: 200, roomSize: 2, rate: 10, durationS: 3 },
      environment: {
        node: 'v20', platform: 'linux', arch: 'x64', kernel: '6', cpuCount: 2, cpuModel: 'cpu', memoryMiB: 1, loadAverage1m: 1, sigctl: '0.1.0', werift: '0.24.4',
        loadGenerator: { kind: 'worker_threads', count: 1 },
      },
      startedAt: 'now',
      finishedAt: 'now',
      results: {
        runs,
        comparison: compareToFloor(runs[0]!, runs[1]!),
        pinning: { applied: true, serverCpus: [0], generatorCpus: [1], note: 'taskset: server(s) on CPU 0, load generator on CPU 1' },
      },
      gates: [],
      passed: true,
    };
    const text = renderSignaling(new Chalk({ level: 0 }), doc).join('\n');
    expect(text).toContain('CPU pinning: taskset: server(s) on CPU 0, load generator on CPU 1');
    expect(text).toContain('0.90 bound');
    expect(text).toContain('no verdict (generator-bound)');
    expect(text).toContain('stopped at 3000 signals/s: the load generator became the limit');
    expect(text).toContain("no verdict: sigctl ramp stopped at the load generator's limit (3000/s)");
  });
});

describe('CPU pinning plan', () => {
  it('reads taskset CPU lists and gives the servers the first half, the generator the rest', () => {
    expect(parseCpuList('0-3,6,8-9\n')).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(() => parseCpuList('3-1')).toThrow(/not a CPU list/);
    expect(splitCpus([0, 1])).toEqual({ server: [0], generator: [1] });
    expect(splitCpus([0, 1, 2, 3, 4])).toEqual({ server: [0, 1], generator: [2, 3, 4] });
    expect(splitCpus([3])).toBeUndefined();
  });
});
