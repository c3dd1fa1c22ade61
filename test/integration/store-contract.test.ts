/**
 * The Store contract (src/store/store.ts), run against every implementation: the in-memory store
 * and the Redis store on a real redis-server. A new implementation adds one factory below.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.js';
import { RedisStore } from '../../src/store/redis.js';
import type { MemberRecord, Store } from '../../src/store/store.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { createClient } from 'redis';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { until, within } from '../helpers/within.js';
import { requires, type Program } from '../helpers/requires.js';

interface Factory {
  name: string;
  /** System programs the implementation needs (requires()). */
  needs?: Program[];
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
  /** A fresh store (its own key space) for node `nodeId`, sharing state with others from the same test. */
  create: (nodeId: string, space: string) => Promise<Store>;
  /** Connections held open to the backing service by clients other than the test's own (0 without one). */
  /** Open connections at the backend, where one process holds them all (undefined: not counted). */
  backendConnections?: () => Promise<number>;
}

let redis: RedisProcess | undefined;
let cluster: RedisCluster | undefined;
let sentinel: RedisSentinelSet | undefined;
const memoryBySpace = new Map<string, MemoryStore>();

const factories: Factory[] = [
  {
    name: 'memory',
    // One process-wide state per test space: a second "node" sees the same rooms.
    create: (nodeId, space) => {
      let s = memoryBySpace.get(space);
      if (s === undefined) {
        s = new MemoryStore({ nodeId });
        memoryBySpace.set(space, s);
      }
      return Promise.resolve(s);
    },
    backendConnections: () => Promise.resolve(0),
  },
  {
    name: 'redis',
    needs: ['redis-server'],
    setup: async () => {
      redis = await startRedis();
    },
    teardown: async () => {
      await redis?.stop();
    },
    create: async (nodeId, space) => {
      const s = new RedisStore({ url: redis!.url, keyPrefix: `contract:${space}:`, nodeId, heartbeatMs: 1000 });
      await s.start();
      return s;
    },
    backendConnections: async () => {
      const probe = createClient({ url: redis!.url });
      await within(probe.connect(), 3_000, 'a probe connection to redis-server');
      try {
        // Every line of CLIENT LIST is one open connection; the probe's own is not counted.
        const list = await within(probe.sendCommand<string>(['CLIENT', 'LIST']), 3_000, 'CLIENT LIST');
        return list.trim().split('\n').length - 1;
      } finally {
        probe.destroy();
      }
    },
  },
  {
    // A 3-master Redis Cluster: room scripts on one slot each, node keys on theirs, sharded pub/sub.
    name: 'redis cluster',
    needs: ['redis-server'],
    setup: async () => {
      cluster = await startRedisCluster();
    },
    teardown: async () => {
      await cluster?.stop();
    },
    create: async (nodeId, space) => {
      const s = new RedisStore({ target: { topology: 'cluster', nodes: cluster!.nodes }, keyPrefix: `contract:${space}:`, nodeId, heartbeatMs: 1000, connectTimeoutMs: 20_000 });
      await s.start();
      return s;
    },
  },
  {
    name: 'redis sentinel',
    needs: ['redis-server'],
    setup: async () => {
      sentinel = await startRedisSentinel();
    },
    teardown: async () => {
      await sentinel?.stop();
    },
    create: async (nodeId, space) => {
      const sentinels = sentinel!.sentinels.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) }));
      const s = new RedisStore({ target: { topology: 'sentinel', name: sentinel!.name, sentinels }, keyPrefix: `contract:${space}:`, nodeId, heartbeatMs: 1000, connectTimeoutMs: 20_000 });
      await s.start();
      return s;
    },
  },
];

const member = (id: string, node = 'n1', meta: Record<string, unknown> = {}): MemberRecord => ({ id, name: `name-${id}`, meta, node });

for (const factory of factories) {
describe(`Store contract: ${factory.name}`, requires(...(factory.needs ?? [])), () => {
  const opened: Store[] = [];
  let space = '';
  const open = async (nodeId = 'n1'): Promise<Store> => {
    const s = await factory.create(nodeId, space);
    if (!opened.includes(s)) opened.push(s);
    return s;
  };

  beforeAll(async () => {
    await factory.setup?.();
  });
  afterAll(async () => {
    await factory.teardown?.();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    memoryBySpace.clear();
  });
  const fresh = (): void => {
    space = randomUUID();
  };

  it('join reports the peers before the join, the capacity set by the creator, and ready on 1 -> 2 only', async () => {
    fresh();
    const s = await open();
    expect(s.healthy).toBe(true);
    const r1 = await s.join('room', member('a'), 3);
    expect(r1).toEqual({ ok: true, peers: [], capacity: 3, ready: false });
    const r2 = await s.join('room', member('b'), 9);
    expect(r2).toMatchObject({ ok: true, capacity: 3, ready: true });
    if (r2.ok) expect(r2.peers.map((m) => m.id)).toEqual(['a']);
    const r3 = await s.join('room', member('c'), 9);
    expect(r3).toMatchObject({ ok: true, ready: false });
    expect(await s.join('room', member('d'), 9)).toEqual({ ok: false, reason: 'full', capacity: 3 });
    expect((await s.members('room')).map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(await s.capacity('room')).toBe(3);
  });

  it('leave frees an emptied room; a later creator sets a new capacity', async () => {
    fresh();
    const s = await open();
    await s.join('r', member('a'), 2);
    await s.join('r', member('b'), 2);
    expect(await s.leave('r', 'a')).toMatchObject({ removed: true });
    expect(await s.leave('r', 'a')).toMatchObject({ removed: false });
    const last = await s.leave('r', 'b');
    expect(last).toEqual({ removed: true, remaining: [] });
    expect(await s.members('r')).toEqual([]);
    expect(await s.capacity('r')).toBeUndefined();
    expect(await s.join('r', member('c'), 5)).toMatchObject({ ok: true, capacity: 5 });
  });

  it('keeps room ids with odd characters apart', async () => {
    fresh();
    const s = await open();
    await s.join('a:b', member('x'), 2);
    await s.join('a', member('y'), 2);
    await s.join('a:b:c', member('z'), 2);
    expect((await s.members('a:b')).map((m) => m.id)).toEqual(['x']);
    expect((await s.members('a')).map((m) => m.id)).toEqual(['y']);
    expect((await s.members('a:b:c')).map((m) => m.id)).toEqual(['z']);
  });

  it('setMeta and setNode update a member; undefined for a non-member', async () => {
    fresh();
    const s = await open();
    await s.join('m', member('a', 'n1', { audio: true }), 2);
    expect(await s.setMeta('m', 'a', { audio: false, video: true })).toMatchObject({ id: 'a', meta: { audio: false, video: true } });
    expect(await s.setNode('m', 'a', 'n2')).toMatchObject({ id: 'a', node: 'n2' });
    expect((await s.members('m'))[0]).toMatchObject({ id: 'a', name: 'name-a', node: 'n2', meta: { audio: false, video: true } });
    expect(await s.setMeta('m', 'ghost', {})).toBeUndefined();
    expect(await s.setMeta('nowhere', 'a', {})).toBeUndefined();
  });

  it('concurrent joins never exceed capacity and exactly one sees ready', async () => {
    fresh();
    const a = await open('n1');
    const b = await open('n2');
    const rooms = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    const joins = rooms.flatMap((room) => Array.from({ length: 5 }, (_, k) => (k % 2 === 0 ? a : b).join(room, member(`${room}-${k}`, k % 2 === 0 ? 'n1' : 'n2'), 2)));
    const results = await Promise.all(joins);
    expect(results.filter((r) => r.ok)).toHaveLength(40);
    expect(results.filter((r) => r.ok && r.ready)).toHaveLength(20);
    for (const room of rooms) expect(await a.members(room)).toHaveLength(2);
  });

  it('takeResume returns a reservation once; expired ones are gone', async () => {
    fresh();
    const s = await open();
    const rec = { room: 'r', member: member('a'), expiresAt: Date.now() + 60_000 };
    await s.putResume('tok-1', rec);
    const [x, y] = await Promise.all([s.takeResume('tok-1'), s.takeResume('tok-1')]);
    expect([x, y].filter((v) => v !== undefined)).toEqual([rec]);
    await s.putResume('tok-2', { ...rec, expiresAt: Date.now() - 1 });
    expect(await s.takeResume('tok-2')).toBeUndefined();
    expect(await s.takeResume('never')).toBeUndefined();
  });

  it('resume queues keep order, drop the oldest beyond max and count the drops; leave discards them', async () => {
    fresh();
    const s = await open();
    await s.join('q', member('a'), 2);
    for (let i = 0; i < 7; i++) await s.enqueue('q', 'a', `f${i}`, 4);
    expect(await s.drainQueue('q', 'a')).toEqual({ frames: ['f3', 'f4', 'f5', 'f6'], dropped: 3 });
    expect(await s.drainQueue('q', 'a')).toEqual({ frames: [], dropped: 0 });
    await s.enqueue('q', 'a', 'late', 4);
    await s.leave('q', 'a');
    expect(await s.drainQueue('q', 'a')).toEqual({ frames: [], dropped: 0 });
  });

  it('a queue with a holder takes frames only while the member is recorded on that node (not after it moved, nor after it left)', async () => {
    fresh();
    const s = await open();
    const rec = await s.join('h', member('a'), 2);
    expect(rec.ok).toBe(true);
    const node = 'n1'; // where member() records it
    expect(await s.enqueue('h', 'a', 'here', 4, node)).toBe(true);
    await s.setNode('h', 'a', 'elsewhere');
    expect(await s.enqueue('h', 'a', 'after the move', 4, node)).toBe(false);
    // Without a holder (the node that took it over re-queuing): always.
    expect(await s.enqueue('h', 'a', 'requeued', 4)).toBe(true);
    expect(await s.drainQueue('h', 'a')).toEqual({ frames: ['here', 'requeued'], dropped: 0 });
    await s.leave('h', 'a');
    expect(await s.enqueue('h', 'a', 'after the leave', 4, 'elsewhere')).toBe(false);
  });

  it('close is idempotent: concurrent and repeated closes resolve, and the backend connections are released', async () => {
    fresh();
    const count = factory.backendConnections;
    const before = count === undefined ? 0 : await count();
    const s = await open();
    await s.join('c', member('a'), 2);
    const held = count === undefined ? 0 : (await count()) - before;
    if (count !== undefined && factory.needs?.includes('redis-server')) expect(held).toBeGreaterThan(0);
    await within(Promise.all([s.close(), s.close()]), 5_000, 'two concurrent closes');
    await within(s.close(), 5_000, 'a third close');
    // Spread over several processes (cluster, sentinel): the bounded closes are what is checked.
    if (count === undefined) return;
    // A server drops a connection a moment after the client closed it: wait for the count, bounded.
    await until(async () => (await count()) === before, 5_000, `the ${held} backend connection(s) to close`);
    expect(await count()).toBe(before);
  });
});
}
