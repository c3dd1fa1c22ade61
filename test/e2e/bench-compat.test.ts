/**
 * `sigctl bench signaling --protocol stomp|raw` (issue 15): the load clients speak STOMP or the raw
 * room relay to a local `serve --compat ...` started by the bench, and every delivery is accounted
 * for exactly as for protocol v1.
 */
import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/report.js';
import type { SignalingResult, SignalingRun } from '../../src/bench/signaling.js';
import { runCli } from '../helpers/bench-cli.js';

type Doc = BenchReport<SignalingResult>;

const SMALL = ['--clients', '4', '--rate', '5', '--duration', '1'];

/** Runs the bench; `timeoutMs` bounds the child, a little under the test's own bound. */
async function benchJson(args: readonly string[], timeoutMs: number): Promise<Doc> {
  const r = await runCli(['bench', 'signaling', ...SMALL, ...args, '--json'], timeoutMs);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Doc;
}

function expectExact(run: SignalingRun): void {
  expect(run.join).toMatchObject({ ok: 4, failed: 0, errors: {} });
  expect(run.steady.sent).toBeGreaterThan(0);
  // Rooms of two: each signal is owed to the one other member.
  expect(run.steady.expected).toBe(run.steady.sent);
  expect(run.steady).toMatchObject({ delivered: run.steady.expected, deliveredRatio: 1, lost: 0, duplicates: 0, late: 0, errors: {} });
  expect(run.steady.relayLatencyMs.count).toBe(run.steady.delivered);
}

describe('sigctl bench signaling --protocol (built CLI)', () => {
  for (const protocol of ['stomp', 'raw'] as const) {
    it(`runs ${protocol} clients against a local serve --compat ${protocol} with exact delivery`, async () => {
      const doc = await benchJson(['--protocol', protocol], 80_000);
      expect(doc.parameters).toMatchObject({ protocol, clients: 4, roomSize: 2 });
      expect(doc.results.runs).toHaveLength(1);
      const run = doc.results.runs[0]!;
      expect(run).toMatchObject({ target: 'sigctl', protocol });
      expectExact(run);
      expect(run.steady.serverCpuMs).toBeGreaterThan(0);
    }, 90_000);
  }

  it('compares STOMP against the floor (whose clients speak v1) with the compat CPU goal', async () => {
    const doc = await benchJson(['--protocol', 'stomp', '--vs-floor'], 110_000);
    const [sigctl, floor] = doc.results.runs;
    expect(sigctl).toMatchObject({ target: 'sigctl', protocol: 'stomp' });
    expect(floor).toMatchObject({ target: 'floor', protocol: 'v1' });
    expectExact(sigctl!);
    expectExact(floor!);
    expect(doc.results.comparison).toMatchObject({ cpuGoal: 1.5, goals: { delivery: true } });
    expect(doc.results.comparison?.cpuPerMessageRatio).toBeGreaterThan(0);
  }, 120_000);

  it('refuses an unknown protocol, and --protocol outside the signaling scenario, with USAGE (exit 2)', async () => {
    const bad = await runCli(['bench', 'signaling', '--protocol', 'mqtt', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/USAGE.*v1, stomp, raw/);
    const elsewhere = await runCli(['bench', 'connect', '--protocol', 'stomp']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/USAGE: --protocol does not apply to the connect scenario/);
  });
});
