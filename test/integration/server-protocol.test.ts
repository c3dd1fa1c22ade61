/**
 * Protocol v1 on a real server and real WebSocket clients: welcome, join, peer-joined, ready,
 * signal relay, meta, leave, ping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../../src/protocol/version.js';
import type { SignalingServer } from '../../src/server/index.js';
import { Resources, startTestServer, TestClient } from '../helpers/server-harness.js';

describe('server protocol v1', () => {
  const res = new Resources();
  let server: SignalingServer;

  beforeEach(async () => {
    server = res.server(await startTestServer({ heartbeatMs: 15_000 }));
  });
  afterEach(() => res.closeAll());

  const connect = async (): Promise<TestClient> => res.client(await TestClient.connect(server.url));
  const join = async (room: string, extra: Record<string, unknown> = {}) => {
    const c = await connect();
    c.send({ type: 'join', room, ...extra });
    return { c, joined: await c.next('joined') };
  };

  it('sends welcome with session, protocol, iceServers and heartbeat right after connect', async () => {
    const c = res.client(await TestClient.open(server.url));
    const welcome = await c.next('welcome');
    expect(welcome.protocol).toBe(PROTOCOL_VERSION);
    expect(welcome.session).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(welcome.iceServers).toEqual([]);
    expect(welcome.heartbeatMs).toBe(15_000);
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    expect(server.port).toBeGreaterThan(0);
  });

  it('accepts the sigctl.v1 subprotocol and treats no subprotocol as v1', async () => {
    const a = res.client(await TestClient.open(server.url, { protocols: [SUBPROTOCOL] }));
    expect(a.ws.protocol).toBe(SUBPROTOCOL);
    await a.next('welcome');
    const b = res.client(await TestClient.open(server.url));
    expect(b.ws.protocol).toBe('');
    await b.next('welcome');
  });

  it('joins, announces peers, and sends ready exactly once to both members when the room reaches 2', async () => {
    const { c: a, joined: ja } = await join('call-1', { id: 1, name: 'alice', meta: { audio: true } });
    expect(ja).toMatchObject({ type: 'joined', re: 1, room: 'call-1', peers: [], capacity: 2 });
    expect(ja.self).toMatchObject({ name: 'alice', meta: { audio: true } });
    expect(ja.resumeToken.length).toBeGreaterThan(20);

    const { c: b, joined: jb } = await join('call-1', { id: 'x', name: 'bob' });
    expect(jb.re).toBe('x');
    expect(jb.peers).toEqual([ja.self]);
    const pj = await a.next('peer-joined');
    expect(pj).toEqual({ type: 'peer-joined', room: 'call-1', peer: jb.self });

    const ra = await a.next('ready');
    const rb = await b.next('ready');
    expect(ra).toEqual(rb);
    // The newcomer offers to the member already there.
    expect(ra).toEqual({ type: 'ready', room: 'call-1', offerer: jb.self.id, peers: [ja.self.id, jb.self.id] });
    expect(await a.none('ready')).toBe(true);
    expect(await b.none('ready')).toBe(true);
  });

  it('relays a signal to one member with from set by the server, and broadcasts without to', async () => {
    const { c: a, joined: ja } = await join('mesh', { capacity: 3 });
    const { c: b, joined: jb } = await join('mesh');
    const { c: c3, joined: jc } = await join('mesh');
    expect(jc.capacity).toBe(3);

    a.send({ type: 'signal', to: jb.self.id, data: { description: { type: 'offer', sdp: 'v=0' } }, from: 'spoofed' });
    const sb = await b.next('signal');
    expect(sb).toEqual({ type: 'signal', from: ja.self.id, data: { description: { type: 'offer', sdp: 'v=0' } } });
    expect(await c3.none('signal')).toBe(true);

    b.send({ type: 'signal', data: { hello: [1, 2, 3] } });
    expect(await a.next('signal')).toEqual({ type: 'signal', from: jb.self.id, data: { hello: [1, 2, 3] } });
    expect(await c3.next('signal')).toEqual({ type: 'signal', from: jb.self.id, data: { hello: [1, 2, 3] } });
    expect(await b.none('signal')).toBe(true);
  });

  it('preserves per-sender order of relayed signals', async () => {
    const { c: a } = await join('order');
    const { c: b } = await join('order');
    for (let i = 0; i < 80; i++) a.send({ type: 'signal', data: { i } });
    for (let i = 0; i < 80; i++) {
      const s = await b.next('signal');
      expect(s.data).toEqual({ i });
    }
  });

  it('meta replaces metadata and is broadcast as peer-updated (the sender gets it with re)', async () => {
    const { c: a, joined: ja } = await join('m');
    const { c: b } = await join('m');
    a.send({ type: 'meta', id: 7, meta: { audio: false, video: true } });
    const own = await a.next('peer-updated');
    expect(own).toEqual({ type: 'peer-updated', room: 'm', re: 7, peer: { ...ja.self, meta: { audio: false, video: true } } });
    const other = await b.next('peer-updated');
    expect(other).toEqual({ type: 'peer-updated', room: 'm', peer: { ...ja.self, meta: { audio: false, video: true } } });
  });

  it('leave answers left, tells the others peer-left (leave), and frees the room', async () => {
    const { c: a, joined: ja } = await join('l');
    const { c: b } = await join('l');
    a.send({ type: 'leave', id: 'bye' });
    expect(await a.next('left')).toEqual({ type: 'left', room: 'l', re: 'bye' });
    expect(await b.next('peer-left')).toEqual({ type: 'peer-left', room: 'l', peer: ja.self.id, reason: 'leave' });
    // The connection may join again after leaving.
    a.send({ type: 'join', room: 'l2' });
    expect((await a.next('joined')).room).toBe('l2');
    // An emptied room is freed: its capacity is chosen again by the next creator.
    b.send({ type: 'leave' });
    await b.next('left');
    const { joined } = await join('l', { capacity: 5 });
    expect(joined.capacity).toBe(5);
    expect(joined.peers).toEqual([]);
  });

  it('a client that closes cleanly leaves at once with reason disconnect', async () => {
    const { c: a, joined: ja } = await join('d');
    const { c: b } = await join('d');
    await a.close();
    expect(await b.next('peer-left')).toEqual({ type: 'peer-left', room: 'd', peer: ja.self.id, reason: 'disconnect' });
  });

  it('answers ping with pong carrying ts and re', async () => {
    const c = await connect();
    c.send({ type: 'ping', id: 3, ts: 12.5 });
    expect(await c.next('pong')).toEqual({ type: 'pong', re: 3, ts: 12.5 });
    c.send({ type: 'ping' });
    expect(await c.next('pong')).toEqual({ type: 'pong' });
  });

  it('uses the join name, and the member id as the name when none is given', async () => {
    const { joined } = await join('n');
    expect(joined.self.name).toBe(joined.self.id);
    expect(joined.self.meta).toEqual({});
  });
});
