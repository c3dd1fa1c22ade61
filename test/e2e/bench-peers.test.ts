import { describe, expect, it } from 'vitest';
import type { ConnectRun, ThroughputRun } from '../../src/bench/peers.js';
import type { BenchReport } from '../../src/bench/report.js';
import { WERIFT_PATCH_NAMES } from '../../src/peer/patches/index.js';
import { runCli } from '../helpers/bench-cli.js';

function oneDocument<T>(stdout: string): BenchReport<T> {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as BenchReport<T>;
}

describe('sigctl bench connect / throughput (built CLI)', () => {
  it('connect is the default scenario: one JSON document whose phases add up to the total', async () => {
    const r = await runCli(['bench', '--pairs', '2', '--json', '--max-failures', '0']);
    expect(r.code, r.stderr).toBe(0);
    const doc = oneDocument<ConnectRun>(r.stdout);
    expect(doc).toMatchObject({ scenario: 'connect', parameters: { url: null, pairs: 2 }, passed: true });
    // Two worker threads per side (one per core): the first peers in two, the newcomers in two others.
    expect(doc.environment).toMatchObject({ werift: '0.24.4', loadGenerator: { kind: 'worker_threads', count: 4 } });
    expect(doc.results).toMatchObject({ target: 'sigctl', connected: 2, failed: 0 });
    // The werift peers ran with every runtime patch: a werift upgrade that drops one fails here.
    expect(doc.results.patches).toMatchObject({ weriftVersion: '0.24.4', skipped: [] });
    expect(doc.results.patches?.applied).toEqual(WERIFT_PATCH_NAMES);
    const { signaling, offerAnswer, ice, dtls, channel, total } = doc.results.phasesMs;
    expect(total.count).toBe(2);
    // Means add up exactly because every pair's segments do.
    expect(signaling.mean + offerAnswer.mean + ice.mean + dtls.mean + channel.mean).toBeCloseTo(total.mean, 1);
  });

  it('throughput reports MB/s > 0 and RTT; an unmeetable --min-mbps exits 3', async () => {
    const r = await runCli(['bench', 'throughput', '--duration', '1', '--message-size', '65536', '--min-mbps', '1000000', '--json']);
    expect(r.code, r.stderr).toBe(3);
    const doc = oneDocument<ThroughputRun>(r.stdout);
    expect(doc.parameters).toMatchObject({ pairs: 1, durationS: 1, messageSize: 65_536, ordered: true, engine: 'werift' });
    expect(doc.results.transfer.aggregateMBps).toBeGreaterThan(0);
    expect(doc.results.transfer.rttMs.count).toBeGreaterThan(0);
    expect(doc.results.patches).toMatchObject({ weriftVersion: '0.24.4', skipped: [] });
    expect(doc.gates).toEqual([expect.objectContaining({ flag: '--min-mbps', passed: false })]);
    expect(doc.error?.code).toBe('GATE_FAILED');
    expect(r.stderr).toMatch(/GATE_FAILED: 1 gate missed: --min-mbps 1000000: aggregate MB\/s was/);
  });

  it('throughput --unordered runs over unordered channels', async () => {
    const r = await runCli(['bench', 'throughput', '--unordered', '--duration', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = oneDocument<ThroughputRun>(r.stdout);
    expect(doc.parameters).toMatchObject({ ordered: false, engine: 'werift' });
    expect(doc.results.transfer.ordered).toBe(false);
    expect(doc.results.transfer.perPair[0]!.ordered).toEqual({ sender: false, receiver: false });
    expect(doc.results.transfer.aggregateMBps).toBeGreaterThan(0);
  });

  it('prints the phase table and fails --max-join-p95 0 with exit 3', async () => {
    const r = await runCli(['bench', 'connect', '--pairs', '1', '--max-join-p95', '0']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/join latency by phase/);
    expect(r.stdout).toMatch(/DTLS connected/);
    expect(r.stderr).toMatch(/error GATE_FAILED: 1 gate missed: --max-join-p95 0/);
  });

  it('rejects flags of another scenario with exit 2', async () => {
    for (const args of [
      ['bench', 'connect', '--duration', '1'],
      ['bench', 'connect', '--rate', '1'],
      ['bench', 'throughput', '--max-relay-p99', '5'],
      ['bench', 'connect', '--unordered'],
    ]) {
      const r = await runCli(args, 20_000);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    }
  });
});
