/**
 * `--engine`: the connect and throughput scenarios with libdatachannel peers (node-datachannel,
 * installed here as the optional dependency) through the same local `sigctl serve`, and the clear
 * ENGINE_MISSING error when an engine's package is absent.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { packageVersion, requireEngine } from '../../src/bench/engine.js';
import { phaseSegments, runConnect, runThroughput, type PeerRunOptions, type ThroughputRun } from '../../src/bench/peers.js';
import type { BenchReport } from '../../src/bench/report.js';
import { SigctlError } from '../../src/protocol/errors.js';
import { runCli } from '../helpers/bench-cli.js';

/** PIDs of live `sigctl bench peer-worker` processes (from /proc). */
async function peerProcesses(): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('bench\0peer-worker')) out.push(Number(name));
  }
  return out;
}

function options(over: Partial<PeerRunOptions> = {}): PeerRunOptions {
  return { pairs: 1, workers: 1, pairTimeoutMs: 20_000, env: { PATH: process.env.PATH }, signal: AbortSignal.timeout(60_000), ...over };
}

describe('bench engines', () => {
  it('names the engine package version, and ENGINE_MISSING (exit 2) when the package is not installed', () => {
    expect(requireEngine('werift')).toBe(packageVersion('werift'));
    expect(requireEngine('node-datachannel')).toMatch(/^\d+\.\d+\.\d+/);
    let err: unknown;
    try {
      requireEngine('node-datachannel', 'node-datachannel-surely-not-installed');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SigctlError);
    expect(err).toMatchObject({ code: 'ENGINE_MISSING', exitCode: 2 });
    expect((err as Error).message).toMatch(/node-datachannel-surely-not-installed package is not installed/);
  });

  // 12 pairs at once in one process: before the offerer held its candidates back until the answer
  // was set (engine-ndc.ts), libdatachannel failed about 1 pair in 30 of these DTLS handshakes.
  it('connect with node-datachannel peers: every pair opens a channel, phases add up', async () => {
    const run = await runConnect(options({ pairs: 12, engine: 'node-datachannel' }));
    expect(run, JSON.stringify(run.perPair.filter((p) => !p.ok))).toMatchObject({ target: 'sigctl', engine: 'node-datachannel', engineVersion: packageVersion('node-datachannel'), connected: 12, failed: 0 });
    for (const p of run.perPair) {
      const s = phaseSegments(p.at)!;
      expect(s.total).toBeGreaterThan(0);
      expect(s.signaling + s.offerAnswer + s.ice + s.dtls + s.channel).toBeCloseTo(s.total, 6);
      expect(p.candidatePair).toMatch(/^host\//);
    }
  });

  it('throughput with node-datachannel peers, ordered and unordered: MB/s > 0 and RTT measured', async () => {
    for (const ordered of [true, false]) {
      const run = await runThroughput({ ...options(), durationS: 1, messageSize: 16_384, ordered, engine: 'node-datachannel', pings: 10 });
      expect(run.engine).toBe('node-datachannel');
      const t = run.transfer;
      expect(t).toMatchObject({ engine: 'node-datachannel', ordered, failures: 0, errors: {} });
      expect(t.perPair[0]!.ordered).toEqual({ sender: ordered, receiver: ordered });
      expect(t.perPair[0]!.bytes % 16_384).toBe(0);
      expect(t.aggregateMBps).toBeGreaterThan(0);
      expect(t.rttMs.count).toBe(10);
    }
  });

  it('the CLI runs --engine node-datachannel and names engine and version in the JSON; an unknown engine is a usage error', async () => {
    const r = await runCli(['bench', 'throughput', '--engine', 'node-datachannel', '--duration', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as BenchReport<ThroughputRun>;
    expect(doc.parameters).toMatchObject({ engine: 'node-datachannel' });
    expect(doc.results).toMatchObject({ engine: 'node-datachannel', engineVersion: packageVersion('node-datachannel'), connected: 1 });
    expect(doc.results.transfer.aggregateMBps).toBeGreaterThan(0);
    // libdatachannel peers ran in child processes (not threads), one per peer of the pair, and none outlived the run.
    expect(doc.environment.loadGenerator).toEqual({ kind: 'child_processes', count: 2 });
    expect(await peerProcesses()).toEqual([]);
    const bad = await runCli(['bench', 'throughput', '--engine', 'nope'], 20_000);
    expect(bad.code).toBe(2);
    const signaling = await runCli(['bench', 'signaling', '--engine', 'werift'], 20_000);
    expect(signaling.code).toBe(2);
    expect(signaling.stderr).toMatch(/--engine does not apply to the signaling scenario/);
  });
});
