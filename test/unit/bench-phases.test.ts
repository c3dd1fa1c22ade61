import { describe, expect, it } from 'vitest';
import type { PairResult } from '../../src/bench/peer-messages.js';
import { breakdown, phaseSegments } from '../../src/bench/peers.js';

const at = (over: Partial<PairResult['at']>): PairResult['at'] => ({
  wsConnected: 2,
  joined: 5,
  offerSent: 20,
  answerReceived: 40,
  iceConnected: 60,
  dtlsConnected: 90,
  channelOpen: 100,
  ...over,
});

function pair(i: number, a: PairResult['at'], ok = true): PairResult {
  return { pair: i, room: `r${i}`, ok, at: a, candidatePair: null, urls: ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:1/ws'] };
}

describe('join latency phases', () => {
  it('splits a timeline into consecutive segments that add up to the total', () => {
    const s = phaseSegments(at({}))!;
    expect(s).toEqual({ signaling: 5, offerAnswer: 35, ice: 20, dtls: 30, channel: 10, total: 100 });
    expect(s.signaling + s.offerAnswer + s.ice + s.dtls + s.channel).toBe(s.total);
  });

  it('gives a missing or out-of-order mark zero time and still adds up', () => {
    const s = phaseSegments(at({ dtlsConnected: null, iceConnected: 30 }))!;
    expect(s).toEqual({ signaling: 5, offerAnswer: 35, ice: 0, dtls: 0, channel: 60, total: 100 });
    const t = phaseSegments(at({ answerReceived: 150 }))!;
    expect(t.signaling + t.offerAnswer + t.ice + t.dtls + t.channel).toBe(100);
    expect(Math.min(...Object.values(t))).toBeGreaterThanOrEqual(0);
  });

  it('has no segments for a pair whose channel never opened', () => {
    expect(phaseSegments(at({ channelOpen: null }))).toBeUndefined();
  });

  it('summarises connected pairs only', () => {
    const b = breakdown([pair(0, at({})), pair(1, at({ channelOpen: 200 })), pair(2, at({ channelOpen: null }), false)]);
    expect(b.total).toMatchObject({ count: 2, min: 100, max: 200, p50: 100 });
    expect(b.channel).toMatchObject({ count: 2, min: 10, max: 110 });
    expect(breakdown([]).total.count).toBe(0);
  });
});
