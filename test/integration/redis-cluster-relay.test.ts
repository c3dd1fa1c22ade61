/**
 * Two sigctl nodes relaying across a real 3-master Redis Cluster (test/helpers/redis-cluster.ts):
 * rooms spread over slots on different masters, members of each room on different nodes, signals
 * delivered exactly once and in order over sharded pub/sub, and capacity holding under concurrent
 * joins from both nodes (JOIN runs on the room's slot only).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { cli } from '../helpers/redis-procs.js';
import { RedisNodes } from '../helpers/redis-nodes.js';
import { requires } from '../helpers/requires.js';
import { Resources, TestClient, within } from '../helpers/server-harness.js';

describe('two nodes over a 3-master Redis Cluster', requires('redis-server'), () => {
  let cluster: RedisCluster;
  const res = new Resources();
  const sigctlNodes = new RedisNodes(res, 'cl', () => ({ target: { topology: 'cluster', nodes: cluster.nodes }, connectTimeoutMs: 20_000 }));
  const { join } = res;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await cluster.stop();
  });
  afterEach(() => sigctlNodes.closeAll());

  const nodes = async (): Promise<[SignalingServer, SignalingServer, string]> => {
    const [a, b] = await sigctlNodes.start(2);
    return [a!, b!, sigctlNodes.keyPrefix];
  };

  it('relays every signal exactly once, in order, for rooms on every master', async () => {
    const [n1, n2, keyPrefix] = await nodes();
    const rooms = Array.from({ length: 9 }, (_, i) => `room-${i}`);
    const pairs = [];
    for (const room of rooms) {
      const a = await join(n1, room);
      const b = await join(n2, room);
      await a.c.next('ready');
      await b.c.next('ready');
      pairs.push({ a: a.c, b: b.c, aId: a.joined.self.id, bId: b.joined.self.id });
    }
    // The rooms' keys landed on every master: cross-node traffic is spread over the cluster.
    const owners = await Promise.all(cluster.ports.map(async (port) => Number((await cli(port, ['EVAL', `return #redis.call('KEYS', ARGV[1])`, '0', `${keyPrefix}room:*`])).trim())));
    expect(owners.every((n) => n > 0), `room keys per master: ${owners.join(', ')}`).toBe(true);

    const N = 40;
    for (const p of pairs) {
      for (let i = 0; i < N; i++) p.a.send({ type: 'signal', to: p.bId, data: i });
      p.a.send({ type: 'signal', to: p.bId, data: 'end' });
      p.b.send({ type: 'signal', data: 'back' });
    }
    await within(
      Promise.all(
        pairs.map(async (p) => {
          const got: unknown[] = [];
          for (;;) {
            const f = await p.b.next('signal', 10_000);
            expect(f.from).toBe(p.aId);
            if (f.data === 'end') break;
            got.push(f.data);
          }
          // Exactly once and in order: nothing missing, nothing twice, the marker last.
          expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
          expect((await p.a.next('signal', 10_000)).data).toBe('back');
        }),
      ),
      30_000,
      'every room to relay its signals',
    );
  });

  it('holds capacity under concurrent joins from both nodes', async () => {
    const [n1, n2] = await nodes();
    const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => TestClient.connect((i % 2 === 0 ? n1 : n2).url).then((c) => res.client(c))));
    for (const c of clients) c.send({ type: 'join', room: 'cap', capacity: 3 });
    const answers = await within(Promise.all(clients.map((c) => c.nextOf(['joined', 'error'], 10_000))), 15_000, 'every join to be answered');
    expect(answers.filter((f) => f.type === 'joined')).toHaveLength(3);
    for (const f of answers) if (f.type === 'error') expect(f.code).toBe('ROOM_FULL');
    const { c: late } = await within(TestClient.connect(n2.url).then((c) => ({ c: res.client(c) })), 5_000, 'connect');
    late.send({ type: 'join', room: 'cap' });
    expect((await late.error()).code).toBe('ROOM_FULL');
  });

  it('a member leaving on one node frees its place for a join on the other', async () => {
    const [n1, n2] = await nodes();
    const { c: a } = await join(n1, 'swap');
    const { c: b, joined: jb } = await join(n2, 'swap');
    b.send({ type: 'leave' });
    await b.next('left');
    expect((await a.next('peer-left')).peer).toBe(jb.self.id);
    const { joined } = await join(n2, 'swap');
    expect(joined.peers).toHaveLength(1);
  });
});
