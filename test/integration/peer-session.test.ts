/**
 * PeerSession with a real `serve` and real werift peers on loopback: a 1:1 room, a mesh of 4, a
 * peer leaving and rejoining, resume after the server drops the socket (the data channel
 * survives), and --relay-only failing clearly when no TURN server is configured.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { startDropProxy, startPeerTestServer, type DropProxy } from '../helpers/peer-server.js';
import { connectedPeers, roundTrip, SessionPool } from '../helpers/peer-sessions.js';
import { nextEvent, within } from '../helpers/peer-timeout.js';
import { TestClient } from '../helpers/server-harness.js';

let server: SignalingServer | undefined;
let proxy: DropProxy | undefined;
const pool = new SessionPool(() => server!.url);

afterEach(async () => {
  await pool.closeAll();
  await proxy?.close();
  proxy = undefined;
  await server?.close();
  server = undefined;
});

describe('PeerSession with a real server', () => {
  it('1:1 room: the newcomer offers, both channels open, phases and a host pair are reported', async () => {
    server = await startPeerTestServer();
    const a = pool.create('one-to-one', { name: 'alice' });
    const b = pool.create('one-to-one', { name: 'bob' });
    const phases: string[] = [];
    b.on('phase', (e) => phases.push(e.phase));
    await within(a.start(), 5_000, 'a joined');
    const ca = connectedPeers(a, 1, 15_000);
    const cb = connectedPeers(b, 1, 15_000);
    await within(b.start(), 5_000, 'b joined');
    const [[pa], [pb]] = await Promise.all([ca, cb]);
    expect(pa.name).toBe('bob');
    expect(pb.name).toBe('alice');
    expect(pb.pair?.type).toBe('host');
    // b is the newcomer: it offered.
    expect(pb.phases['offer-sent']).toBeTypeOf('number');
    expect(pa.phases['offer-received']).toBeTypeOf('number');
    expect(phases.slice(0, 3), phases.join(',')).toEqual(['ws-connected', 'joined', 'offer-sent']);
    expect(phases).toContain('channel-open');
    expect(pb.session.joinedAt).toBeGreaterThanOrEqual(pb.session.wsConnectedAt);
    expect(await roundTrip(a, b, 'hi bob')).toBe('hi bob');
    expect(await roundTrip(b, a, 'hi alice')).toBe('hi alice');
  });

  it('mesh of 4: every member gets a channel to every other member', async () => {
    server = await startPeerTestServer({ rooms: { maxCapacity: 8 } });
    const sessions = [0, 1, 2, 3].map((i) => pool.create('mesh4', { name: `p${i}`, capacity: 4 }));
    const all = sessions.map((s) => connectedPeers(s, 3, 40_000));
    for (const s of sessions) await within(s.start(), 5_000, 'join');
    await within(Promise.all(all), 45_000, 'full mesh');
    for (const s of sessions) {
      expect(s.peers().filter((p) => p.connected)).toHaveLength(3);
    }
    expect(await roundTrip(sessions[0]!, sessions[3]!, 'first to last')).toBe('first to last');
    expect(await roundTrip(sessions[2]!, sessions[1]!, 'middle')).toBe('middle');
  });

  it('a peer leaving and rejoining gets a fresh connection', async () => {
    server = await startPeerTestServer();
    const a = pool.create('rejoin', { name: 'stay' });
    await a.start();
    const first = pool.create('rejoin', { name: 'goer' });
    const c1 = connectedPeers(a, 1, 15_000);
    await first.start();
    await c1;
    const left = nextEvent(a, 'peer-left', 5_000);
    await first.close();
    const [info] = await left;
    expect(info).toMatchObject({ name: 'goer', reason: 'leave' });
    expect(a.peers()).toHaveLength(0);

    const again = pool.create('rejoin', { name: 'goer' });
    const c2 = connectedPeers(a, 1, 15_000);
    const c3 = connectedPeers(again, 1, 15_000);
    await again.start();
    const [[p]] = await Promise.all([c2, c3]);
    expect(p.name).toBe('goer');
    expect(await roundTrip(again, a, 'back again')).toBe('back again');
  });

  it('resumes after the server drops the socket: same id, the data channel keeps working, no peer-left', async () => {
    server = await startPeerTestServer({ rooms: { resumeGraceMs: 5_000 } });
    proxy = await startDropProxy(server.url);
    const a = pool.create('resume', { name: 'steady' });
    const b = pool.create('resume', { name: 'flaky', url: proxy.url });
    await a.start();
    const ca = connectedPeers(a, 1, 15_000);
    const jb = await b.start();
    await ca;
    let leftSeen = 0;
    a.on('peer-left', () => (leftSeen += 1));
    const resumed = nextEvent(b, 'resumed', 5_000);
    proxy.dropAll();
    const [joined] = await resumed;
    expect(joined.self.id).toBe(jb.self.id);
    expect(await roundTrip(a, b, 'still here')).toBe('still here');
    expect(leftSeen).toBe(0);
  });

  it('--relay-only fails clearly before joining when no TURN server is configured', async () => {
    server = await startPeerTestServer();
    const other = pool.create('relay', { name: 'watcher' });
    await other.start();
    let joinedSeen = 0;
    other.on('peer-joined', () => (joinedSeen += 1));
    const relay = pool.create('relay', { relayOnly: true, iceServers: [{ urls: 'stun:127.0.0.1:3478' }] });
    const err = await relay.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'NO_RELAY_CANDIDATES' });
    expect(String((err as Error).message)).toMatch(/TURN/);
    // A member joining after the refusal is the first the watcher sees: the refused one never joined.
    const seen = nextEvent(other, 'peer-joined', 5_000);
    const marker = await TestClient.connect(server.url);
    try {
      marker.send({ type: 'join', room: 'relay', name: 'marker' });
      await marker.next('joined');
      expect((await seen)[0].name).toBe('marker');
    } finally {
      await marker.close();
    }
    expect(joinedSeen).toBe(1);
  });

  it('rejoins with a new id when the resume grace has passed, and renegotiates with the room', async () => {
    server = await startPeerTestServer({ rooms: { resumeGraceMs: 200 } });
    proxy = await startDropProxy(server.url);
    const a = pool.create('late', { name: 'steady' });
    const b = pool.create('late', { name: 'slow', url: proxy.url, reconnect: { baseMs: 100, capMs: 300, maxAttempts: 20 } });
    await a.start();
    const first = connectedPeers(a, 1, 15_000);
    const jb = await b.start();
    await first;
    const timedOut = nextEvent(a, 'peer-left', 5_000);
    proxy.setRefusing(true);
    proxy.dropAll();
    expect((await timedOut)[0]).toMatchObject({ peer: jb.self.id, reason: 'timeout' });
    const again = connectedPeers(a, 1, 15_000);
    const againB = connectedPeers(b, 1, 15_000);
    const rejoined = nextEvent(b, 'joined', 10_000);
    proxy.setRefusing(false);
    const [joined] = await rejoined;
    expect(joined.self.id).not.toBe(jb.self.id);
    const [p] = await again;
    expect(p.peer).toBe(joined.self.id);
    await againB;
    expect(await roundTrip(a, b, 'welcome back')).toBe('welcome back');
  });

  it('--relay-only with an unreachable TURN server fails with a coded error, not a hang', async () => {
    server = await startPeerTestServer({ ice: { turn: [{ urls: ['turn:127.0.0.1:9?transport=udp'], username: 'u', credential: 'p' }] } });
    // The pre-flight: nothing answers the Allocate within its bound, so start() fails before joining.
    const lone = pool.create('relay-dead', { name: 'lone', relayOnly: true, gatherTimeoutMs: 1_500, iceTimeoutMs: 8_000 });
    const err = await lone.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'NO_RELAY_CANDIDATES' });
    expect((err as Error).message).toMatch(/turn:127\.0\.0\.1:9\?transport=udp did not answer/);
    // Without the pre-flight, gathering finds no relay candidate and the peer fails, coded.
    const a = pool.create('relay-dead', { name: 'a', relayOnly: true, turnCheck: false, gatherTimeoutMs: 1_500, iceTimeoutMs: 8_000 });
    const b = pool.create('relay-dead', { name: 'b', relayOnly: true, turnCheck: false, gatherTimeoutMs: 1_500, iceTimeoutMs: 8_000 });
    await a.start();
    const failed = nextEvent(b, 'peer-failed', 12_000);
    await b.start();
    const [{ error }] = await failed;
    expect(error.code).toBe('TURN_AUTH_FAILED');
    expect(error.message).toMatch(/relay/);
  });
});
