/**
 * PeerLink negotiation between two real werift peers on loopback, signals piped directly (no
 * server): the newcomer offers, candidates arriving before the description are buffered, crossed
 * offers resolve by perfect negotiation, a far-end restart is answered from a fresh connection, and
 * bad SDP is refused without breaking the link.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RTCDataChannel } from 'werift';
import type { PeerLink } from '../../src/peer/link.js';
import { pipeLinks, type Pipe } from '../helpers/peer-pipe.js';
import { nextEvent, until } from '../helpers/peer-timeout.js';

let pipes: Pipe[] = [];
const track = (p: Pipe): Pipe => {
  pipes.push(p);
  return p;
};

afterEach(async () => {
  await Promise.all(pipes.map((p) => p.close()));
  pipes = [];
});

const isDescription = (d: unknown, type: string): boolean =>
  typeof d === 'object' && d !== null && 'description' in d && (d as { description: { type: string } }).description.type === type;

/** The data channels open on a link's SCTP association (werift's public `dataChannels` map). */
function openChannels(link: PeerLink): RTCDataChannel[] {
  return Object.values(link.channel?.raw.sctp.dataChannels ?? {}).filter((dc) => dc.readyState === 'open');
}

async function exchange(from: PeerLink, to: PeerLink, text: string): Promise<string> {
  const got = nextEvent(to, 'message', 5_000);
  from.channel?.send(text);
  const [data] = await got;
  return data.toString();
}

describe('PeerLink (pairwise, no server)', () => {
  it('connects, opens the channel both ways and reports phases and a host pair', async () => {
    const p = track(pipeLinks());
    const connectedA = nextEvent(p.a, 'connected', 15_000);
    const connectedB = nextEvent(p.b, 'connected', 15_000);
    p.a.start();
    p.b.start();
    const [[ra], [rb]] = await Promise.all([connectedA, connectedB]);
    expect(ra.pair?.type).toBe('host');
    expect(ra.phases['offer-sent']).toBeTypeOf('number');
    expect(ra.phases['answer-received']).toBeTypeOf('number');
    expect(ra.phases['channel-open']).toBeTypeOf('number');
    expect(rb.phases['offer-received']).toBeTypeOf('number');
    expect(rb.phases['answer-sent']).toBeTypeOf('number');
    expect(await exchange(p.a, p.b, 'hello b')).toBe('hello b');
    expect(await exchange(p.b, p.a, 'hello a')).toBe('hello a');
    // The W3C payload shapes went over the "wire".
    expect(p.aToB[0]).toMatchObject({ description: { type: 'offer' } });
    expect(p.bToA.some((d) => typeof d === 'object' && d !== null && 'candidate' in d)).toBe(true);
  });

  it('accepts candidates that arrive before the description', async () => {
    let heldOffer: unknown;
    let release: (() => void) | undefined;
    const p = track(
      pipeLinks({
        deliverToB: (to, d) => {
          if (typeof d === 'object' && d !== null && 'description' in d && heldOffer === undefined) {
            heldOffer = d;
            release = () => to.handleSignal(d);
            return;
          }
          to.handleSignal(d);
        },
      }),
    );
    p.a.start();
    // Wait until a's candidates have gone out (and reached b before the offer).
    await until(() => p.aToB.some((d) => typeof d === 'object' && d !== null && 'candidate' in d && (d).candidate === null), 10_000, 'end of candidates from a', 10);
    // Deliver a's candidates to b ahead of the offer, as a reordering network path would. No pause
    // needed: b applies signals in the order they reach it, so the candidates are handled first.
    expect(p.aToB[0]).toMatchObject({ description: { type: 'offer' } });
    const open = Promise.all([nextEvent(p.a, 'channel-open', 15_000), nextEvent(p.b, 'channel-open', 15_000)]);
    release?.();
    await open;
    expect(await exchange(p.a, p.b, 'late offer')).toBe('late offer');
  });

  it('resolves crossed offers: the polite side rolls back, one channel opens', async () => {
    const p = track(pipeLinks({ b: { initiator: true } }));
    const openA = nextEvent(p.a, 'channel-open', 15_000);
    const openB = nextEvent(p.b, 'channel-open', 15_000);
    p.a.start();
    p.b.start();
    await Promise.all([openA, openB]);
    expect(await exchange(p.a, p.b, 'after glare')).toBe('after glare');
  });

  it('after crossed offers exactly one channel per pair stays: the impolite side\'s; the polite one is closed', async () => {
    const p = track(pipeLinks({ b: { initiator: true } }));
    const connectedA = nextEvent(p.a, 'connected', 15_000);
    const connectedB = nextEvent(p.b, 'connected', 15_000);
    p.a.start();
    p.b.start();
    await Promise.all([connectedA, connectedB]);
    // The offers did cross: b (impolite) ignored a's offer, a (polite) rolled back and answered b's.
    expect(p.aToB.some((d) => isDescription(d, 'offer'))).toBe(true);
    expect(p.bToA.some((d) => isDescription(d, 'offer'))).toBe(true);
    expect(p.aToB.some((d) => isDescription(d, 'answer'))).toBe(true);
    const chA = p.a.channel;
    const chB = p.b.channel;
    expect(chB?.raw.isCreatedByRemote).toBe(false);
    expect(chA?.raw.isCreatedByRemote).toBe(true);
    expect(chA?.raw.id).toBe(chB?.raw.id);
    // Settled: each side has exactly one open channel, the same SCTP stream; a's own is closed.
    await until(() => openChannels(p.a).length === 1 && openChannels(p.b).length === 1, 5_000, 'one open channel on each side');
    expect(openChannels(p.a)[0]?.id).toBe(chB?.raw.id);
    expect(openChannels(p.b)[0]?.id).toBe(chB?.raw.id);
    expect(await exchange(p.a, p.b, 'one channel a->b')).toBe('one channel a->b');
    expect(await exchange(p.b, p.a, 'one channel b->a')).toBe('one channel b->a');
  });

  it('refuses garbage SDP with a coded error and still connects afterwards', async () => {
    const p = track(pipeLinks());
    const err = nextEvent(p.b, 'signal-error', 5_000);
    p.b.handleSignal({ description: { type: 'offer', sdp: 'not sdp at all' } });
    const [e] = await err;
    expect(e.code).toBe('BAD_MESSAGE');
    const bad = nextEvent(p.b, 'signal-error', 5_000);
    p.b.handleSignal({ nonsense: true });
    expect((await bad)[0].code).toBe('BAD_MESSAGE');
    const open = nextEvent(p.b, 'channel-open', 15_000);
    p.a.start();
    await open;
  });

  it('recovers by recreating the connection when the first attempt never connects (ICE restart)', async () => {
    let droppedAnswer = false;
    const p = track(
      pipeLinks({
        a: { connectTimeoutMs: 1_500, maxRestarts: 1 },
        deliverToA: (to, d) => {
          // Lose b's first answer: a times out and restarts from a fresh peer connection, and b
          // must answer the new session (new ufrag and fingerprint) from a fresh one too.
          if (!droppedAnswer && typeof d === 'object' && d !== null && 'description' in d) {
            droppedAnswer = true;
            return;
          }
          to.handleSignal(d);
        },
      }),
    );
    const restarting = nextEvent(p.a, 'restarting', 5_000);
    const connected = nextEvent(p.a, 'connected', 15_000);
    const openB = nextEvent(p.b, 'channel-open', 15_000, () => droppedAnswer);
    p.a.start();
    p.b.start();
    await restarting;
    const [[report]] = await Promise.all([connected, openB]);
    expect(report.restarts).toBe(1);
    expect(await exchange(p.a, p.b, 'after restart')).toBe('after restart');
  });

  it('gives up with TIMEOUT naming the peer when no answer comes, and closes the connection', async () => {
    const p = track(pipeLinks({ a: { connectTimeoutMs: 800, maxRestarts: 0 }, deliverToB: () => undefined }));
    const failed = nextEvent(p.a, 'failed', 5_000);
    const closed = nextEvent(p.a, 'closed', 5_000);
    p.a.start();
    const [err] = await failed;
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/no answer from peer b/);
    await closed;
    expect(p.a.state).toBe('closed');
  });

  it('reports ICE_FAILED with the candidate types tried when no pair works', async () => {
    // No candidate reaches the other side: not trickled, and stripped from the SDP (werift puts
    // the ones gathered so far into the description too).
    const dropCandidates = (to: PeerLink, d: unknown): void => {
      if (typeof d !== 'object' || d === null || 'candidate' in d) return;
      const { description } = d as { description: { type: string; sdp: string } };
      to.handleSignal({ description: { ...description, sdp: description.sdp.replace(/^a=candidate:.*\r\n/gm, '') } });
    };
    const p = track(pipeLinks({ a: { connectTimeoutMs: 1_500, maxRestarts: 0 }, b: { connectTimeoutMs: 1_500, maxRestarts: 0 }, deliverToA: dropCandidates, deliverToB: dropCandidates }));
    const failed = nextEvent(p.a, 'failed', 6_000);
    p.a.start();
    p.b.start();
    const [err] = await failed;
    expect(err.code).toBe('ICE_FAILED');
    expect(err.message).toMatch(/candidate types tried: local host, remote none/);
    expect(err.details).toMatchObject({ localCandidateTypes: ['host'], remoteCandidateTypes: [] });
  });
});
