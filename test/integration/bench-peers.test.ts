import { describe, expect, it } from 'vitest';
import { startFloor } from '../../src/bench/floor.js';
import { connectFigures, phaseSegments, runConnect, runThroughput, throughputFigures, type PeerRunOptions } from '../../src/bench/peers.js';
import { DEFAULT_HIGH_WATER_MARK } from '../../src/peer/channel.js';

// These run the built server (bin/sigctl serve) and werift peers in worker threads from dist/, each
// peer of a pair in a different thread.
function options(over: Partial<PeerRunOptions> = {}): PeerRunOptions {
  return { pairs: 2, workers: 2, pairTimeoutMs: 20_000, env: { PATH: process.env.PATH }, signal: AbortSignal.timeout(60_000), ...over };
}

describe('connect and throughput scenarios', () => {
  it('connects P pairs through a local sigctl serve and reports phases that add up to the total', async () => {
    const run = await runConnect(options());
    // Two workers per side: the first peers in two, the newcomers in two others (never one thread for both peers of a pair).
    expect(run).toMatchObject({ target: 'sigctl', pairs: 2, connected: 2, failed: 0, errors: {}, workers: 4 });
    expect(run.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    for (const p of run.perPair) {
      expect(p.ok).toBe(true);
      expect(p.at.joined).toBeGreaterThan(0);
      expect(p.at.channelOpen).toBeGreaterThanOrEqual(p.at.joined!);
      expect(p.candidatePair).not.toBeNull();
      const s = phaseSegments(p.at)!;
      expect(s.signaling + s.offerAnswer + s.ice + s.dtls + s.channel).toBeCloseTo(s.total, 6);
    }
    expect(run.phasesMs.total.count).toBe(2);
    expect(run.phasesMs.total.max).toBeGreaterThan(0);
    expect(connectFigures(run)).toMatchObject({ failures: 0 });
  });

  it('moves bytes over every channel with bounded buffering and measures RTT', async () => {
    const run = await runThroughput({ ...options({ pairs: 1, workers: 1 }), durationS: 1, messageSize: 16_384, ordered: true, engine: 'werift', pings: 20 });
    expect(run.connected).toBe(1);
    const t = run.transfer;
    expect(t).toMatchObject({ engine: 'werift', ordered: true, messageSize: 16_384, failures: 0, errors: {} });
    expect(t.perPair).toHaveLength(1);
    expect(t.perPair[0]!.bytes).toBeGreaterThan(0);
    expect(t.perPair[0]!.bytes % 16_384).toBe(0);
    expect(t.perPair[0]!.maxBufferedBytes).toBeLessThanOrEqual(DEFAULT_HIGH_WATER_MARK + 16_384);
    expect(t.aggregateMBps).toBeGreaterThan(0);
    expect(t.perPairMBps.count).toBe(1);
    expect(t.rttMs.count).toBe(20);
    expect(t.rttMs.min).toBeGreaterThan(0);
    expect(throughputFigures(run).mbps).toBe(t.aggregateMBps);
    expect(t.perPair[0]!.ordered).toEqual({ sender: true, receiver: true });
  });

  it('runs over unordered channels (--unordered): both ends see an unordered channel and bytes arrive', async () => {
    const run = await runThroughput({ ...options({ pairs: 1, workers: 1 }), durationS: 1, messageSize: 16_384, ordered: false, engine: 'werift', pings: 5 });
    expect(run.connected).toBe(1);
    const t = run.transfer;
    expect(t).toMatchObject({ engine: 'werift', ordered: false, failures: 0, errors: {} });
    // The receiver's flag comes from the DCEP open it received: the peer session really asked for it.
    expect(t.perPair[0]!.ordered).toEqual({ sender: false, receiver: false });
    expect(t.perPair[0]!.bytes).toBeGreaterThan(0);
    expect(t.perPair[0]!.bytes % 16_384).toBe(0);
    expect(t.aggregateMBps).toBeGreaterThan(0);
  });

  it('refuses unknown engines before starting anything', async () => {
    const base = { ...options(), durationS: 1, messageSize: 1024 };
    await expect(runThroughput({ ...base, ordered: true, engine: 'nope' as 'werift' })).rejects.toMatchObject({ code: 'ENGINE_MISSING' });
  });

  it('counts pairs that cannot connect as failures', async () => {
    const floor = await startFloor();
    const url = floor.url;
    await floor.close();
    const run = await runConnect(options({ url, pairTimeoutMs: 5_000 }));
    expect(run).toMatchObject({ target: 'remote', connected: 0, failed: 2 });
    expect(Object.values(run.errors).reduce((n, v) => n + v, 0)).toBe(2);
    expect(run.phasesMs.total.count).toBe(0);
    expect(connectFigures(run).failures).toBe(2);
  });

  it('stops and cleans up when aborted during a transfer', async () => {
    const controller = new AbortController();
    // Aborted once the transfer has begun (its first progress line), as a SIGINT would.
    const onProgress = (text: string): void => {
      if (text.startsWith('sending ')) controller.abort('SIGINT');
    };
    const pending = runThroughput({ ...options({ pairs: 1, workers: 1, signal: controller.signal, onProgress }), durationS: 30, messageSize: 16_384, ordered: true, engine: 'werift' });
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
