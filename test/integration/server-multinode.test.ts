/**
 * Two servers sharing one real redis-server (RedisStore): members of one room on different nodes
 * see each other as on one node — join, peer-joined, ready, signal (direct and broadcast), meta,
 * leave — and a member resumes on the other node with the signals queued meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { redisForSuite } from '../helpers/redis-server.js';
import { RedisNodes } from '../helpers/redis-nodes.js';
import { requires } from '../helpers/requires.js';
import { LogCapture } from '../helpers/server-log.js';
import { Resources, sleep, TestClient, testConfig } from '../helpers/server-harness.js';
import { until } from '../helpers/within.js';

describe('server across nodes (Redis store)', requires('redis-server'), () => {
  const redis = redisForSuite();
  const res = new Resources();
  const cluster = new RedisNodes(res, 'mn', () => ({ url: redis.url }));
  const { join } = res;

  afterEach(() => cluster.closeAll());

  /** `n` nodes on one key prefix; `logs[i]` collects node i's log lines (the events a test waits for). */
  const logs: LogCapture[] = [];
  const nodes = (n: number, overrides = {}): Promise<SignalingServer[]> => {
    logs.length = 0;
    return cluster.start(n, {
      overrides,
      deps: () => {
        const log = new LogCapture();
        logs.push(log);
        return { logger: log.logger };
      },
    });
  };

  it('join, peer-joined, ready, signal, meta and leave cross nodes', async () => {
    const [n1, n2] = await nodes(2);
    const { c: a, joined: ja } = await join(n1!, 'x');
    const { c: b, joined: jb } = await join(n2!, 'x');
    expect(jb.peers).toEqual([ja.self]);
    expect(await a.next('peer-joined')).toEqual({ type: 'peer-joined', room: 'x', peer: jb.self });
    const ra = await a.next('ready');
    expect(ra).toEqual({ type: 'ready', room: 'x', offerer: jb.self.id, peers: [ja.self.id, jb.self.id] });
    expect(await b.next('ready')).toEqual(ra);

    b.send({ type: 'signal', to: ja.self.id, data: { description: { type: 'offer', sdp: 'v=0' } } });
    expect(await a.next('signal')).toEqual({ type: 'signal', from: jb.self.id, data: { description: { type: 'offer', sdp: 'v=0' } } });
    a.send({ type: 'signal', data: 'broadcast' });
    expect(await b.next('signal')).toEqual({ type: 'signal', from: ja.self.id, data: 'broadcast' });
    for (let i = 0; i < 30; i++) a.send({ type: 'signal', to: jb.self.id, data: i });
    for (let i = 0; i < 30; i++) expect((await b.next('signal')).data).toBe(i);

    a.send({ type: 'meta', meta: { video: false } });
    expect((await b.next('peer-updated')).peer).toEqual({ ...ja.self, meta: { video: false } });
    b.send({ type: 'leave' });
    await b.next('left');
    expect(await a.next('peer-left')).toEqual({ type: 'peer-left', room: 'x', peer: jb.self.id, reason: 'leave' });
  });

  it('GET /v1/nodes lists every live node with its load', async () => {
    const [n1, n2] = await nodes(2);
    await join(n1!, 'load');
    let listed: Array<{ id: string; connections: number; rooms: number; url?: string }> = [];
    // Load travels with the store's heartbeat (1 s here): re-read until it has.
    await until(
      async () => {
        listed = ((await (await fetch(`${n2!.httpUrl}/v1/nodes`)).json()) as { nodes: typeof listed }).nodes;
        return listed.some((n) => n.id === 'node-0' && n.connections === 1);
      },
      5000,
      "node-0's load on node-1's /v1/nodes",
      200,
    );
    expect(listed.map((n) => n.id).sort()).toEqual(['node-0', 'node-1']);
    expect(listed.find((n) => n.id === 'node-0')).toMatchObject({ connections: 1, rooms: 1, url: n1!.url });
  });

  it('capacity holds across nodes: 40 joiners spread over two nodes into 10 rooms of 2', async () => {
    const [n1, n2] = await nodes(2);
    const clients = await Promise.all(Array.from({ length: 40 }, async (_, i) => res.client(await TestClient.connect((i % 2 === 0 ? n1 : n2)!.url))));
    clients.forEach((c, i) => c.send({ type: 'join', room: `cap-${i % 10}` }));
    const answers = await Promise.all(clients.map((c) => c.nextOf(['joined', 'error'], 10_000)));
    expect(answers.filter((f) => f.type === 'joined')).toHaveLength(20);
    for (const f of answers) if (f.type === 'error') expect(f.code).toBe('ROOM_FULL');
  });

  it('a member dropped on one node resumes on the other with the signals queued meanwhile', async () => {
    const [n1, n2] = await nodes(2, { rooms: { resumeGraceMs: 3000 } });
    const { c: a, joined: ja } = await join(n1!, 'r', { capacity: 3 });
    const { c: b } = await join(n2!, 'r');
    await a.next('ready');
    await b.next('ready');
    // A third member on node 1 is the marker: node 1 takes the room's cross-node messages in order.
    const { c: w, joined: jw } = await join(n1!, 'r');
    await b.next('peer-joined');
    a.drop();
    await logs[0]!.next('reserved');
    for (let i = 0; i < 3; i++) b.send({ type: 'signal', to: ja.self.id, data: i });
    b.send({ type: 'signal', to: jw.self.id, data: 'marker' });
    // Node 1 queued the three signals for `a` before it delivered the marker to `w`.
    expect((await w.next('signal')).data).toBe('marker');
    const a2 = res.client(await TestClient.connect(n2!.url));
    a2.send({ type: 'join', room: 'r', resume: ja.resumeToken });
    expect(await a2.next('joined')).toMatchObject({ resumed: true, self: ja.self });
    for (let i = 0; i < 3; i++) expect((await a2.next('signal')).data).toBe(i);
    // Node 1 dropped its reservation: no timeout is announced when its grace (3 s) would have
    // ended. A real bound, not a stand-in for an event: the frame asserted absent would come from
    // node 1's grace timer, so the wait is that timer's length plus a margin.
    await expect(b.next('peer-left', 3300)).rejects.toThrow(/timed out/);
    expect(await w.none('peer-left')).toBe(true);
    b.send({ type: 'signal', to: ja.self.id, data: 'same node now' });
    expect((await a2.next('signal')).data).toBe('same node now');
  });

  it('a member that moves to the other node gets what the old node passed on before newer signals', async () => {
    const [n1, n2] = await nodes(2, { rooms: { resumeGraceMs: 3000 } });
    const { c: a, joined: ja } = await join(n1!, 'h', { capacity: 3 });
    const { c: b } = await join(n2!, 'h');
    await a.next('ready');
    const { c: w, joined: jw } = await join(n1!, 'h');
    await b.next('peer-joined');
    // Node 1's store-queue writes leave 300 ms late: what it takes for `a` while reserving it is
    // queued, or (once `a` resumed on node 2) passed on to node 2, after `a` moved.
    const store1 = cluster.stores[0]!;
    const enqueue = store1.enqueue.bind(store1);
    store1.enqueue = async (...args) => {
      await sleep(300);
      return enqueue(...args);
    };
    a.drop();
    await logs[0]!.next('reserved');
    for (let i = 0; i < 5; i++) b.send({ type: 'signal', to: ja.self.id, data: i });
    b.send({ type: 'signal', to: jw.self.id, data: 'marker' });
    expect((await w.next('signal')).data).toBe('marker');
    const a2 = res.client(await TestClient.connect(n2!.url));
    a2.send({ type: 'join', room: 'h', resume: ja.resumeToken });
    expect(await a2.next('joined')).toMatchObject({ resumed: true, self: ja.self });
    // `a` is on b's node now: this one is delivered there directly, and must come after the five.
    b.send({ type: 'signal', to: ja.self.id, data: 'newer' });
    const got: unknown[] = [];
    for (let i = 0; i < 6; i++) got.push((await a2.next('signal')).data);
    expect(got).toEqual([0, 1, 2, 3, 4, 'newer']);
  });

  it('a draining node lets its members resume elsewhere, announces the rest, and leaves nothing behind', async () => {
    const [n1, n2] = await nodes(2, { drainMs: 100, rooms: { resumeGraceMs: 1500 } });
    const { c: a, joined: ja } = await join(n1!, 'move');
    const { c: b, joined: jb } = await join(n2!, 'move');
    const { c: gone, joined: jg } = await join(n1!, 'stay');
    const { c: watcher, joined: jw } = await join(n2!, 'stay');
    await a.next('ready');
    const drained = n1!.drain();
    // The node's configured reconnectMs (the default here) is what its members are told.
    expect((await a.next('bye')).reconnectMs).toBe(testConfig().reconnectMs);
    await gone.next('bye');
    expect((await a.waitClosed()).code).toBe(1001);
    // `a` comes back on the other node; `gone` never does.
    const a2 = res.client(await TestClient.connect(n2!.url));
    a2.send({ type: 'join', room: 'move', resume: ja.resumeToken });
    expect(await a2.next('joined')).toMatchObject({ resumed: true, self: ja.self, peers: [jb.self] });
    b.send({ type: 'signal', to: ja.self.id, data: 'welcome back' });
    expect((await a2.next('signal')).data).toBe('welcome back');
    expect(await watcher.next('peer-left', 5000)).toMatchObject({ peer: jg.self.id, reason: 'timeout' });
    await drained;
    expect(await b.none('peer-left')).toBe(true);
    const left = cluster.stores[1]!;
    expect((await left.members('move')).map((m) => [m.id, m.node])).toEqual([
      [ja.self.id, 'node-1'],
      [jb.self.id, 'node-1'],
    ]);
    expect((await left.members('stay')).map((m) => m.id)).toEqual([jw.self.id]);
  });

  it('an immediate close removes its members from the shared rooms and announces them', async () => {
    const [n1, n2] = await nodes(2);
    const { joined: ja } = await join(n1!, 'shut');
    const { c: b, joined: jb } = await join(n2!, 'shut');
    await n1!.close();
    expect(await b.next('peer-left')).toMatchObject({ peer: ja.self.id, reason: 'disconnect' });
    expect((await cluster.stores[1]!.members('shut')).map((m) => m.id)).toEqual([jb.self.id]);
  });

  it('Redis going away: readyz 503, healthz 200, local relay continues, joins UNAVAILABLE; back after restart', async () => {
    const [n1] = await nodes(1);
    const { c: a } = await join(n1!, 'local');
    const { c: b } = await join(n1!, 'local');
    await redis.stop(true);
    await until(async () => (await fetch(`${n1!.httpUrl}/readyz`)).status === 503, 10_000, 'readyz 503', 100);
    expect((await fetch(`${n1!.httpUrl}/healthz`)).status).toBe(200);
    a.send({ type: 'signal', data: 'no redis needed' });
    expect((await b.next('signal')).data).toBe('no redis needed');
    const c = res.client(await TestClient.connect(n1!.url));
    c.send({ type: 'join', room: 'new', id: 1 });
    expect(await c.error()).toMatchObject({ code: 'UNAVAILABLE', re: 1 });

    await redis.restart();
    await until(async () => (await fetch(`${n1!.httpUrl}/readyz`)).status === 200, 10_000, 'readyz 200', 100);
    c.send({ type: 'join', room: 'new' });
    await c.next('joined', 5000);
    // The members held through the outage were re-registered: the room is still full.
    const d = res.client(await TestClient.connect(n1!.url));
    d.send({ type: 'join', room: 'local' });
    expect((await d.error()).code).toBe('ROOM_FULL');
  });
});
