import { afterEach, describe, expect, it } from 'vitest';
import type { RTCPeerConnection } from 'werift';
import { StunResponder } from '../../src/stun/responder.js';
import { gatherCandidates, makePeer } from '../helpers/auth-werift.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function peer(port: number): RTCPeerConnection {
  const pc = makePeer([{ urls: `stun:127.0.0.1:${port}` }]);
  cleanups.push(() => pc.close());
  return pc;
}

describe('StunResponder with a werift peer', () => {
  it('gives a werift peer a server-reflexive candidate', async () => {
    const stun = new StunResponder();
    cleanups.push(() => stun.close());
    const { port } = await stun.start(0, '127.0.0.1');
    const { candidates } = await gatherCandidates(peer(port), 10_000);
    const srflx = candidates.filter((c) => / typ srflx /.test(c));
    expect(srflx.length, `candidates: ${candidates.join(' | ')}`).toBeGreaterThan(0);
    // Over loopback the reflexive address is the peer's own 127.0.0.1 socket.
    expect(srflx[0]).toMatch(/ 127\.0\.0\.1 \d+ typ srflx raddr /);
    expect(stun.answered).toBeGreaterThan(0);
  });

  it('gathers no srflx candidate when nothing answers (control)', async () => {
    const stun = new StunResponder();
    const { port } = await stun.start(0, '127.0.0.1');
    await stun.close();
    const { candidates } = await gatherCandidates(peer(port), 10_000);
    expect(candidates.filter((c) => / typ srflx /.test(c))).toEqual([]);
  });
});
