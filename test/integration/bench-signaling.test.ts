import { afterEach, describe, expect, it } from 'vitest';
import { startFloor, type FloorServer } from '../../src/bench/floor.js';
import { planRooms } from '../../src/bench/load-generator.js';
import { isSustained, runSeries, runSignaling, signalingFigures, type SignalingRun } from '../../src/bench/signaling.js';
import { startLocalTarget, type LocalTarget } from '../../src/bench/target.js';
import { signalingOptions } from '../helpers/signaling-options.js';

const options = signalingOptions;

/** Structural and plausibility checks every run must pass. */
function expectExactRun(run: SignalingRun, clients: number, roomSize: number): void {
  expect(run.join).toMatchObject({ ok: clients, failed: 0, errors: {} });
  expect(run.join.latencyMs.count).toBe(clients);
  const w = run.steady;
  expect(w.sent).toBeGreaterThan(0);
  // Every signal is owed to the other members of its room (the last room may be smaller).
  expect(w.expected).toBeGreaterThanOrEqual(w.sent);
  expect(w.expected).toBeLessThanOrEqual(w.sent * (roomSize - 1));
  expect(w.delivered).toBe(w.expected);
  expect(w.deliveredRatio).toBe(1);
  expect(w.duplicates).toBe(0);
  expect(w.lost).toBe(0);
  expect(w.errors).toEqual({});
  expect(w.relayLatencyMs.count).toBe(w.delivered);
  expect(w.relayLatencyMs.min).toBeGreaterThan(0);
  expect(w.relayLatencyMs.p50).toBeLessThanOrEqual(w.relayLatencyMs.p99);
  expect(w.relayLatencyMs.p99).toBeLessThanOrEqual(w.relayLatencyMs.max);
  expect(w.sendRate).toBeGreaterThan(0);
}

describe('signaling scenario', () => {
  let floor: FloorServer | undefined;
  let target: LocalTarget | undefined;

  afterEach(async () => {
    await floor?.close();
    await target?.close();
    floor = undefined;
    target = undefined;
  });

  it('deals whole rooms out to workers, the last room taking the remainder', () => {
    const parts = planRooms(7, 3, 2, 'p');
    expect(parts).toEqual([
      [
        { room: 'p-0', members: 3, ordinal: 0 },
        { room: 'p-2', members: 1, ordinal: 2 },
      ],
      [{ room: 'p-1', members: 3, ordinal: 1 }],
    ]);
    expect(planRooms(2, 2, 8, 'q')).toHaveLength(1);
  });

  it('accounts for every delivery exactly against a deployment given by URL', async () => {
    floor = await startFloor();
    const result = await runSignaling(options({ url: floor.url, clients: 21, roomSize: 3 }));
    expect(result.runs).toHaveLength(1);
    const run = result.runs[0]!;
    expect(run.target).toBe('remote');
    expect(run.workers).toBe(2);
    expect(run.server).toBeUndefined();
    expectExactRun(run, 21, 3);
    expect(run.steady.expected).toBe(run.steady.sent * 2);
    expect(signalingFigures(result)).toMatchObject({ failures: 0 });
  });

  it('measures server CPU per relayed message and memory per connection of a local child after a GC', async () => {
    target = await startLocalTarget({ kind: 'floor', env: { PATH: process.env.PATH }, memoryProbe: true });
    const run = await runSeries('floor', target.url, target, options({ clients: 40, rate: 10 }));
    expectExactRun(run, 40, 2);
    expect(run.server?.pid).toBe(target.pid);
    expect(run.server?.rssJoinedKiB).toBeGreaterThan(0);
    expect(Number.isFinite(run.server?.rssPerConnectionKiB)).toBe(true);
    // The probe ran in the child with a fixed young generation (16 MiB semi-spaces) and a full GC:
    // 40 joined connections leave more live heap than none did.
    expect(run.server?.newSpaceKiB).toBeGreaterThanOrEqual(16 * 1024);
    expect(run.server!.heapJoinedKiB).toBeGreaterThan(run.server!.heapBaselineKiB);
    expect(run.server!.heapPerConnectionKiB).toBeGreaterThan(0);
    const reading = await target.memory();
    expect(reading).toMatchObject({ type: 'sigctl-bench-memory', gc: true });
    expect(reading.rssKiB).toBeGreaterThan(reading.heapUsedKiB);
    // The child relayed every delivery, so it spent CPU on them; the per-message figure is that CPU
    // over the relayed messages (both rounded to the report's precision).
    const { serverCpuMs, serverCpuUsPerMessage, delivered, duplicates } = run.steady;
    expect(serverCpuMs).toBeGreaterThan(0);
    expect(serverCpuUsPerMessage).toBeGreaterThan(0);
    const relayed = delivered + duplicates;
    // serverCpuMs is rounded to 0.1 ms (off by up to 0.05), the per-message figure to 0.01 µs.
    expect(Math.abs(serverCpuUsPerMessage! - (serverCpuMs! * 1000) / relayed)).toBeLessThanOrEqual((0.05 * 1000) / relayed + 0.005);
  });

  it('ramps until a step is not sustained or the step limit, and reports the highest sustained rate', async () => {
    floor = await startFloor();
    // A bound of 0 ms can never be met: the first step misses on latency alone, is retried once,
    // misses again, and nothing is sustained.
    const none = await runSignaling(options({ url: floor.url, ramp: true, rampBoundMs: 0, rampMaxSteps: 3, durationS: 1 }));
    // Nothing sustained: nothing to refine from.
    expect(none.runs[0]!.ramp).toMatchObject({ boundMs: 0, maxSustainedRate: null, firstMissedRate: 100 });
    const steps = none.runs[0]!.ramp!.steps;
    // On a loaded machine the first window may also fall short of its send rate; then it missed on
    // more than latency and is not retried. Otherwise it missed on latency alone: exactly one retry.
    if (isSustained(steps[0]!, Infinity)) {
      expect(steps.map((s) => [s.targetRate, s.sustained, s.retry])).toEqual([
        [100, false, undefined],
        [100, false, true],
      ]);
    } else {
      expect(steps.map((s) => [s.targetRate, s.sustained, s.retry])).toEqual([[100, false, undefined]]);
    }
    const some = await runSignaling(options({ url: floor.url, ramp: true, rampBoundMs: 5_000, rampMaxSteps: 2, durationS: 1 }));
    const ramp = some.runs[0]!.ramp!;
    const factorSteps = ramp.steps.filter((s) => s.refine !== true && s.retry !== true);
    expect(factorSteps).toHaveLength(2);
    expect(factorSteps[1]!.targetRate).toBeCloseTo(factorSteps[0]!.targetRate * 1.5, 0);
    for (const s of ramp.steps) expect(s.sustained).toBe(isSustained(s, 5_000));
    expect(ramp.maxSustainedRate).not.toBeNull();
    if (ramp.firstMissedRate === null) {
      // Both steps sustained: the step limit ended the ramp, no refinement.
      expect(ramp.steps).toHaveLength(2);
    } else {
      // The second step missed (a loaded machine): the steps after it are refinements between the two rates.
      for (const s of ramp.steps.slice(ramp.steps.findIndex((x) => x.refine === true))) {
        expect(s.refine).toBe(true);
        expect(s.targetRate).toBeGreaterThan(factorSteps[0]!.targetRate);
        expect(s.targetRate).toBeLessThan(factorSteps[1]!.targetRate);
      }
    }
  });

  it('counts failed joins when the server is unreachable', async () => {
    floor = await startFloor();
    const url = floor.url;
    await floor.close();
    const result = await runSignaling(options({ url, clients: 4, joinTimeoutMs: 2_000 }));
    expect(result.runs[0]!.join).toMatchObject({ ok: 0, failed: 4, errors: { SERVER_UNREACHABLE: 4 } });
    expect(result.runs[0]!.steady.sent).toBe(0);
    expect(signalingFigures(result).failures).toBe(4);
  });

  it('stops and cleans up when aborted', async () => {
    floor = await startFloor();
    const controller = new AbortController();
    // Aborted once the measured window has begun (its first progress line), as a SIGINT would.
    const onProgress = (text: string): void => {
      if (text.includes('signals/s for')) controller.abort('SIGINT');
    };
    const pending = runSignaling(options({ url: floor.url, durationS: 20, signal: controller.signal, onProgress }));
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
