import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/report.js';
import type { SignalingResult } from '../../src/bench/signaling.js';
import { childPids, runCli } from '../helpers/bench-cli.js';
import { until } from '../helpers/within.js';

type Doc = BenchReport<SignalingResult>;

/** True while `pid` exists and is not a zombie. */
async function isAlive(pid: number): Promise<boolean> {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !stat.slice(stat.lastIndexOf(')')).startsWith(') Z');
}

const SMALL = ['--clients', '20', '--rate', '5', '--duration', '1'];

describe('sigctl bench signaling (built CLI)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigctl-bench-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints exactly one JSON document with scenario, parameters, environment and exact delivery, and writes --out', async () => {
    const out = join(dir, 'report.json');
    const r = await runCli(['bench', 'signaling', ...SMALL, '--json', '--out', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!) as Doc;
    expect(doc).toMatchObject({
      scenario: 'signaling',
      parameters: { url: null, clients: 20, roomSize: 2, rate: 5, durationS: 1, ramp: false, vsFloor: false },
      environment: { node: process.version, werift: '0.24.4', loadGenerator: { kind: 'worker_threads' } },
      gates: [],
      passed: true,
    });
    expect(doc.environment.cpuCount).toBeGreaterThanOrEqual(1);
    expect(doc.environment.loadGenerator.count).toBeGreaterThanOrEqual(1);
    const run = doc.results.runs[0]!;
    expect(run.target).toBe('sigctl');
    expect(run.join).toMatchObject({ ok: 20, failed: 0 });
    expect(run.steady).toMatchObject({ deliveredRatio: 1, duplicates: 0, lost: 0, errors: {} });
    expect(run.steady.sent).toBeGreaterThan(0);
    // The server relayed every delivery, so it spent CPU on them, and the figure is that CPU per message.
    expect(run.steady.serverCpuMs).toBeGreaterThan(0);
    expect(run.steady.serverCpuUsPerMessage).toBeGreaterThan(0);
    // serverCpuMs is rounded to 0.1 ms (off by up to 0.05), the per-message figure to 0.01 µs.
    const perMessage = (run.steady.serverCpuMs! * 1000) / run.steady.delivered;
    expect(Math.abs(run.steady.serverCpuUsPerMessage! - perMessage)).toBeLessThanOrEqual((0.05 * 1000) / run.steady.delivered + 0.005);
    expect(run.server?.rssJoinedKiB).toBeGreaterThan(0);
    // Issue 17: every window says whether the load generator was the limit; the server and the
    // generator ran on separate CPUs where the platform allows (Linux with taskset and 2+ CPUs).
    expect(typeof run.steady.generatorBound).toBe('boolean');
    const pinning = (doc.results as { pinning?: { applied: boolean; serverCpus: number[]; generatorCpus: number[]; note: string } }).pinning;
    expect(pinning?.note).toMatch(/taskset|not pinned/);
    if (pinning?.applied === true) expect(pinning.serverCpus.filter((c) => pinning.generatorCpus.includes(c))).toEqual([]);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(doc);
  });

  it('exits 3 naming the missed gate when a gate cannot be met (JSON: still one document)', async () => {
    const r = await runCli(['bench', 'signaling', ...SMALL, '--max-relay-p99', '0', '--max-failures', '0', '--json']);
    expect(r.code).toBe(3);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!) as Doc;
    expect(doc.passed).toBe(false);
    expect(doc.error?.code).toBe('GATE_FAILED');
    expect(doc.gates).toEqual([
      expect.objectContaining({ flag: '--max-relay-p99', limit: 0, passed: false }),
      expect.objectContaining({ flag: '--max-failures', limit: 0, actual: 0, passed: true }),
    ]);
    expect(r.stderr).toMatch(/GATE_FAILED: 1 gate missed: --max-relay-p99 0: relay p99 \(ms\) was/);
  });

  // Two servers, a warm-up each, and two rounds: ~17 s on a quiet 2-core machine, well past the
  // suite's 30 s under load. The run is bounded by runCli's 100 s (it is killed then), the test by 110 s.
  it('prints a table and exits 3 with GATE_FAILED in human mode; runs the floor alongside, rounds interleaved, with --vs-floor', { timeout: 110_000 }, async () => {
    const r = await runCli(['bench', 'signaling', ...SMALL, '--vs-floor', '--max-relay-p99', '0'], 100_000);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/sigctl bench signaling/);
    expect(r.stdout).toMatch(/^\s+sigctl\s+20\s+0\s/m);
    expect(r.stdout).toMatch(/^\s+floor\s+20\s+0\s/m);
    expect(r.stdout).toMatch(/cpu per relayed message\s+\S+x floor/);
    // Both servers run at once; the 1 s steady window is two rounds, alternating between them.
    expect(r.stdout).toMatch(/median of 2 interleaved rounds: [\d.]+, [\d.]+; totals [\d.]+x/);
    expect(r.stdout).toMatch(/sigctl\s+µs\/msg by round\s+[\d.]+, [\d.]+$/m);
    expect(r.stdout).toMatch(/floor\s+µs\/msg by round\s+[\d.]+, [\d.]+$/m);
    expect(r.stdout).toMatch(/CPU pinning: (taskset|not pinned)/);
    expect(r.stdout).toMatch(/FAIL\s+--max-relay-p99 0/);
    expect(r.stderr).toMatch(/error GATE_FAILED: 1 gate missed: --max-relay-p99 0/);
  });

  it('rejects unknown scenarios, flags of another scenario and gates a scenario cannot check (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['bench', 'nope'], /unknown scenario "nope"/],
      [['bench', 'signaling', '--min-mbps', '1'], /--min-mbps does not apply to the signaling scenario/],
      [['bench', 'signaling', '--pairs', '2'], /--pairs does not apply to the signaling scenario/],
      [['bench', 'signaling', '--url', 'http://x'], /--url must be ws:\/\/ or wss:\/\//],
      [['bench', 'signaling', '--url', 'ws://127.0.0.1:1/ws', '--vs-floor'], /--vs-floor needs a local server/],
      [['bench', 'signaling', '--clients', '0'], /expected an integer from 1/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, 20_000);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('stops on SIGINT with exit 130 and leaves no server process behind', async () => {
    let pid = 0;
    let stderr = '';
    const pending = runCli(['bench', 'signaling', '--clients', '20', '--rate', '5', '--duration', '60'], 30_000, (child) => {
      pid = child.pid!;
      child.stderr?.on('data', (d: string) => (stderr += d));
    });
    // Interrupt in the middle of the run: once its progress line says the 60 s window started
    // (the local server child is up by then).
    await until(() => /signals\/s for 60 s/.test(stderr), 25_000, "the 60 s window's progress line");
    const children = await childPids(pid);
    expect(children.length).toBeGreaterThan(0);
    process.kill(pid, 'SIGINT');
    const r = await pending;
    expect(r.code).toBe(130);
    for (const c of children) expect(await isAlive(c), `child ${c}`).toBe(false);
  });
});
