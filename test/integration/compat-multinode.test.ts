/**
 * Compat members across nodes: a STOMP member on one `serve --redis` node and a v1 member on
 * another share a room (member list, READY, signals both ways, leave), and a raw relay client on
 * one node reaches a STOMP member on the other. A client hears of members on other nodes only
 * after their nodes were sent its `peer-joined` (so a client told of it another way finds it known).
 */
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.js';
import type { SignalingServer } from '../../src/server/index.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { Resources, sleep, startTestServer, TestClient, within } from '../helpers/server-harness.js';
import { StompPeer } from '../helpers/stomp-client.js';
import { requires } from '../helpers/requires.js';

describe('compat members across nodes (Redis store)', requires('redis-server'), () => {
  let redis: RedisProcess;
  const res = new Resources();
  const stores: RedisStore[] = [];
  const closers: Array<() => unknown> = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await res.closeAll();
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  const nodes = async (prefix: string): Promise<[SignalingServer, SignalingServer]> => {
    const out: SignalingServer[] = [];
    for (let i = 0; i < 2; i++) {
      const store = new RedisStore({ url: redis.url, keyPrefix: prefix, nodeId: `${prefix}node-${i}`, heartbeatMs: 1000 });
      await store.start();
      stores.push(store);
      out.push(res.server(await startTestServer({ compat: { stomp: true, raw: true } }, { store })));
    }
    return [out[0]!, out[1]!];
  };

  const stomp = async (server: SignalingServer, room: string, name: string): Promise<{ p: StompPeer; sid: string }> => {
    const p = new StompPeer(server.url);
    closers.push(() => p.close());
    await p.connect();
    p.subscribeAll(room);
    await p.sendWithReceipt(`/app/rooms/${room}/join`, { roomId: room, displayName: name });
    const sid = (JSON.parse((await p.next('/user/queue/me')).body) as { sid: string }).sid;
    return { p, sid };
  };

  it('a STOMP member on one node and a v1 member on the other share a room', async () => {
    const [n1, n2] = await nodes('cmn1:');
    const { c: v1, joined } = await TestClient.join(n2.url, 'x-node', { name: 'vera' });
    res.client(v1);
    const { p, sid } = await stomp(n1, 'x-node', 'stan');
    expect(JSON.parse((await p.next('/topic/rooms/x-node/members')).body)).toEqual([
      { sid: joined.self.id, displayName: 'vera' },
      { sid, displayName: 'stan' },
    ]);
    expect((await v1.next('peer-joined')).peer).toMatchObject({ id: sid, name: 'stan' });
    expect((await p.signal('x-node', 'READY')).body).toMatchObject({ offerer: sid });
    await v1.next('ready');

    p.send('/app/rooms/x-node/signal', { type: 'OFFER', sdp: 'v=0\r\n' });
    expect(await v1.next('signal')).toEqual({ type: 'signal', from: sid, data: { type: 'OFFER', sdp: 'v=0\r\n' } });
    v1.send({ type: 'signal', to: sid, data: { type: 'ANSWER', sdp: 'v=0\r\n' } });
    expect((await p.signal('x-node', 'ANSWER')).sid).toBe(joined.self.id);

    v1.send({ type: 'leave' });
    expect((await p.signal('x-node', 'LEAVE')).body).toMatchObject({ sid: joined.self.id, reason: 'leave' });
    expect(JSON.parse((await p.next('/topic/rooms/x-node/members', (m) => Array.isArray(m) && m.length === 1)).body)).toEqual([{ sid, displayName: 'stan' }]);
  });

  it('a raw relay client on one node reaches a STOMP member on the other', async () => {
    const [n1, n2] = await nodes('cmn2:');
    const { p } = await stomp(n1, 'raw-x', 'stan');
    const ws = new WebSocket(n2.url.replace(/\/ws$/, '/room/raw-x'));
    closers.push(() => ws.terminate());
    const got = new Promise<string>((resolve) => ws.on('message', (d) => resolve((d as Buffer).toString())));
    await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 3000, 'raw open');
    await p.next('/topic/rooms/raw-x/members', (m) => Array.isArray(m) && m.length === 2);
    ws.send('{"type":"OFFER","sdp":"from raw"}');
    expect((await p.signal("raw-x", "OFFER")).body).toEqual({ type: "OFFER", sdp: "from raw" });
    p.send('/app/rooms/raw-x/signal', { type: 'ANSWER', sdp: 'from stomp' });
    expect(await within(got, 5000, 'the raw client to receive')).toBe('{"type":"ANSWER","sdp":"from stomp"}');
  });

  it('a client hears of a member on another node only after that node was sent its peer-joined', async () => {
    const [n1, n2] = await nodes('cmn3:');
    const { c: vera } = await TestClient.join(n2.url, 'order', { name: 'vera' });
    res.client(vera);
    // Node 1's envelope that announces a join leaves 200 ms late: the joining client must not hear
    // of vera before it has left (else a client it told of vera could reach her node first).
    const store1 = stores[0]!;
    const publish = store1.publish.bind(store1);
    const events: string[] = [];
    store1.publish = async (env, node) => {
      if (env.presence?.present !== true) return publish(env, node);
      await sleep(200);
      const reached = await publish(env, node);
      events.push('peer-joined sent');
      return reached;
    };
    const { c: stan, joined } = await TestClient.join(n1.url, 'order', { name: 'stan' });
    res.client(stan);
    events.push('joined');
    expect(joined.peers.map((p) => p.name)).toEqual(['vera']);
    expect(events).toEqual(['peer-joined sent', 'joined']);
    expect((await vera.next('peer-joined')).peer).toMatchObject({ name: 'stan' });
  });
});
