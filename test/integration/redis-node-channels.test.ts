/**
 * One channel per node (src/store/redis-channels.ts): a signal whose recipients are all on one
 * node goes on that node's own channel, and must still arrive exactly once, in order with the
 * same sender's envelopes on the room's channel, at that node only; stamps drop a late re-send
 * across both channels; the subscription survives a Redis restart. Then the same through two and
 * three real servers: directed signals mixed with broadcasts, and a node that does not hold the
 * target hears none of them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import type { SignalingServer } from '../../src/server/index.js';
import { encodeEnvelopes } from '../../src/store/redis-envelope.js';
import { RedisKeys } from '../../src/store/redis-keys.js';
import { RedisStore } from '../../src/store/redis.js';
import type { Envelope, MemberRecord } from '../../src/store/store.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { requires } from '../helpers/requires.js';
import { Resources, startTestServer, TestClient } from '../helpers/server-harness.js';
import { until, within } from '../helpers/within.js';

const member = (id: string, node: string): MemberRecord => ({ id, name: id, meta: {}, node });

describe('one channel per node (Redis store)', requires('redis-server'), () => {
  let redis: RedisProcess;
  const stores: RedisStore[] = [];
  const res = new Resources();
  let seq = 0;
  let prefix = '';

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await res.closeAll();
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  const store = async (id: string): Promise<RedisStore> => {
    // Links off: this suite is about the Redis path (redis-node-links.test.ts covers links).
    const s = new RedisStore({ url: redis.url, keyPrefix: prefix, nodeId: id, heartbeatMs: 1_000, links: false });
    stores.push(s);
    await s.start();
    return s;
  };
  /** Subscriber counts of channels, from Redis itself. */
  const numsub = async (...channels: string[]): Promise<number[]> => {
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const reply: unknown = await raw.sendCommand(['PUBSUB', 'NUMSUB', ...channels]);
      if (!Array.isArray(reply)) throw new Error('PUBSUB NUMSUB: not an array');
      return channels.map((_, i): number => Number(reply[2 * i + 1]));
    } finally {
      await raw.close();
    }
  };
  const got = (s: RedisStore): Array<Envelope & { direct: boolean }> => {
    const out: Array<Envelope & { direct: boolean }> = [];
    s.subscribe((e, direct) => out.push({ ...e, direct }));
    return out;
  };

  it('each node listens to its own channel; a directed envelope reaches that node once, and no other', async () => {
    prefix = `nc${++seq}:`;
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(store));
    const keys = new RedisKeys(prefix);
    expect(await numsub(keys.nodeChannel('a'), keys.nodeChannel('b'), keys.nodeChannel('c'))).toEqual([1, 1, 1]);
    const onB = got(b!);
    const onC = got(c!);
    for (const s of [a!, b!, c!]) await s.join('r', member(`m${s.nodeId}`, s.nodeId), 3);
    const reached = await Promise.all(Array.from({ length: 5 }, (_, i) => a!.publish({ room: 'r', to: 'mb', frame: `d${i}`, origin: 'a', queue: true }, 'b')));
    expect(reached).toEqual([1, 1, 1, 1, 1]);
    // A later envelope on the room's channel, which c hears: everything a published before it has reached c if it ever will.
    expect(await a!.publish({ room: 'r', except: 'ma', frame: 'marker', origin: 'a' })).toBe(2);
    await until(() => onC.length > 0 && onB.length === 6, 2_000, 'the marker on c and all six on b');
    expect(onC.map((e) => e.frame)).toEqual(['marker']);
    expect(onB.map((e) => [e.frame, e.direct])).toEqual([...Array.from({ length: 5 }, (_, i) => [`d${i}`, true]), ['marker', false]]);
    // Nobody listens to the channel of a node that is not running: the sender is told 0.
    expect(await a!.publish({ room: 'r', to: 'gone', frame: 'x', origin: 'a', queue: true }, 'zz')).toBe(0);
  });

  it("keeps one sender's order across the room's channel and a node's channel, within a turn and across turns", async () => {
    prefix = `nc${++seq}:`;
    const [a, b] = await Promise.all(['a', 'b'].map(store));
    const onB = got(b!);
    for (const room of ['r1', 'r2']) {
      await a!.join(room, member(`a-${room}`, 'a'), 4);
      await b!.join(room, member(`b-${room}`, 'b'), 4);
    }
    const sent: Record<string, string[]> = { r1: [], r2: [] };
    let next = 7;
    const pending: Array<Promise<number>> = [];
    for (let turn = 0; turn < 20; turn++) {
      // d1, b1, d2 in one turn (the brief's case), then a mix of both rooms decided by a fixed sequence.
      for (let i = 0; i < 12; i++) {
        next = (next * 1103515245 + 12345) % 2 ** 31;
        const room = i < 3 ? 'r1' : next % 2 === 0 ? 'r1' : 'r2';
        const directed = i < 3 ? i !== 1 : (next >> 3) % 3 !== 0;
        const frame = `${room}:${turn}:${i}:${directed ? 'd' : 'b'}`;
        sent[room]!.push(frame);
        pending.push(directed ? a!.publish({ room, to: `b-${room}`, frame, origin: 'a', queue: true }, 'b') : a!.publish({ room, except: `a-${room}`, frame, origin: 'a', queue: true }));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await within(Promise.all(pending), 5_000, 'the publishes')).every((n) => n === 1)).toBe(true);
    const total = sent.r1!.length + sent.r2!.length;
    await until(() => onB.length >= total, 5_000, `${total} envelopes on b`);
    for (const room of ['r1', 'r2']) expect(onB.filter((e) => e.room === room).map((e) => e.frame)).toEqual(sent[room]);
    expect(onB).toHaveLength(total);
    // Both channels were used.
    expect(onB.some((e) => e.direct) && onB.some((e) => !e.direct)).toBe(true);
  });

  it('drops a late re-send across both channels (one sequence per origin)', async () => {
    prefix = `nc${++seq}:`;
    const b = await store('b');
    const onB = got(b);
    await b.join('r', member('mb', 'b'), 2);
    const keys = new RedisKeys(prefix);
    const env = (frame: string): Envelope => ({ room: 'r', to: 'mb', frame, origin: 'z', queue: true });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      await raw.publish(keys.nodeChannel('b'), encodeEnvelopes('z', [env('seq 5, node channel')], { boot: 'aa', seq: 5 }));
      await raw.publish(keys.channel('r'), encodeEnvelopes('z', [env('seq 3, room channel: late')], { boot: 'aa', seq: 3 }));
      await raw.publish(keys.channel('r'), encodeEnvelopes('z', [env('seq 6, room channel')], { boot: 'aa', seq: 6 }));
      // Rooms r, other, r in one message: r is late both times, other is not.
      await raw.publish(keys.nodeChannel('b'), encodeEnvelopes('z', [env('seq 4, node channel: late'), { ...env('seq 4, another room'), room: 'other' }, env('seq 4 again: late')], { boot: 'aa', seq: 4 }));
      await raw.publish(keys.nodeChannel('b'), encodeEnvelopes('z', [env('seq 7, node channel')], { boot: 'aa', seq: 7 }));
    } finally {
      await raw.close();
    }
    await until(() => onB.some((e) => e.frame === 'seq 7, node channel'), 2_000, 'the last envelope');
    // 'other' is not a room b holds: passed to the hub (which drops it), never recorded or counted as late.
    expect(onB.map((e) => e.frame)).toEqual(['seq 5, node channel', 'seq 6, room channel', 'seq 4, another room', 'seq 7, node channel']);
  });

  it("listens to its own channel again after Redis restarted empty", async () => {
    prefix = `nc${++seq}:`;
    const [a, b] = await Promise.all(['a', 'b'].map(store));
    const onB = got(b!);
    await b!.join('r', member('mb', 'b'), 2);
    await redis.restart();
    await until(() => a!.healthy && b!.healthy, 10_000, 'both stores up again');
    const keys = new RedisKeys(prefix);
    await until(async () => (await numsub(keys.nodeChannel('b')))[0] === 1, 5_000, "b's channel subscribed again");
    expect(await a!.publish({ room: 'r', to: 'mb', frame: 'after', origin: 'a', queue: true }, 'b')).toBe(1);
    await until(() => onB.length === 1, 2_000, 'the envelope on b');
    expect(onB[0]).toMatchObject({ frame: 'after', direct: true });
  });

  it("hands a room's envelopes over only once this node's join in it has settled, in order", async () => {
    prefix = `nc${++seq}:`;
    const [a, b] = await Promise.all(['a', 'b'].map(store));
    await b!.join('r', member('mb', 'b'), 4);
    let joinDone = false;
    const early: string[] = [];
    const after: number[] = [];
    a!.subscribe((e) => (joinDone ? after.push(Number(e.frame)) : early.push(e.frame)));
    // b publishes to the room without pause: some envelopes arrive between a's SUBSCRIBE and its join's reply.
    let n = 0;
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        for (let i = 0; i < 5; i++) void b!.publish({ room: 'r', except: 'mb', frame: String(n++), origin: 'b' }).catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    try {
      await until(() => n > 50, 2_000, 'the pump running');
      await a!.join('r', member('ma', 'a'), 4).then(() => (joinDone = true));
      await until(() => after.length > 20, 2_000, 'envelopes after the join');
    } finally {
      stop = true;
      await pump;
    }
    // Without the hold, the server would get them before it has added its member (and drop them).
    expect(early).toEqual([]);
    expect(after).toEqual([...after].sort((x, y) => x - y));
  });

  // ---- through real servers ------------------------------------------------------------------

  const servers = async (n: number): Promise<SignalingServer[]> => {
    prefix = `ncs${++seq}:`;
    const out: SignalingServer[] = [];
    for (let i = 0; i < n; i++) out.push(res.server(await startTestServer({}, { store: await store(`node-${i}`) })));
    return out;
  };
  const join = async (s: SignalingServer, room: string) => {
    const c = res.client(await TestClient.connect(s.url));
    c.send({ type: 'join', room, capacity: 4 });
    return { c, joined: await c.next('joined') };
  };

  it('directed signals cross nodes exactly once and in order, mixed with broadcasts; a third node hears none of them', async () => {
    const [n0, n1, n2] = await servers(3);
    const { c: a, joined: ja } = await join(n0!, 'mix');
    const { c: b, joined: jb } = await join(n1!, 'mix');
    await a.next('peer-joined');
    // Two members on one other node: a's broadcasts go on node-1's channel too.
    const { c: b2 } = await join(n1!, 'mix');
    await a.next('peer-joined');
    await b.next('peer-joined');
    const keys = new RedisKeys(prefix);
    const raw = createClient({ url: redis.url });
    await raw.connect();
    const onNode2: string[] = [];
    try {
      await raw.subscribe(keys.nodeChannel('node-2'), (m) => onNode2.push(m));
      const expected: unknown[] = [];
      for (let i = 0; i < 60; i++) {
        if (i % 3 === 1) a.send({ type: 'signal', data: `b${i}` });
        else a.send({ type: 'signal', to: jb.self.id, data: `d${i}` });
        expected.push(i % 3 === 1 ? `b${i}` : `d${i}`);
      }
      for (const x of expected) expect((await b.next('signal')).data).toBe(x);
      for (const x of expected.filter((x) => String(x).startsWith('b'))) expect((await b2.next('signal')).data).toBe(x);
      // A third node joins the room now and a marker goes to it last: it got the marker and nothing of the above.
      const { c: c3, joined: jc } = await join(n2!, 'mix');
      await a.next('peer-joined');
      a.send({ type: 'signal', to: jc.self.id, data: 'marker' });
      expect((await c3.next('signal')).data).toBe('marker');
      expect(await c3.none('signal')).toBe(true);
      await until(() => onNode2.length > 0, 2_000, "the marker on node-2's channel");
      expect(onNode2).toHaveLength(1);
      // And b got exactly the 60, nothing twice.
      b.send({ type: 'signal', to: ja.self.id, data: 'end' });
      expect((await a.next('signal')).data).toBe('end');
      expect(await b.none('signal')).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it('every member hears of the other and gets ready when 40 rooms are joined at once across two nodes (join reply and peer-joined read in either order)', async () => {
    const [n0, n1] = await servers(2);
    const firsts = await Promise.all(Array.from({ length: 40 }, async () => res.client(await TestClient.connect(n0!.url))));
    const seconds = await Promise.all(Array.from({ length: 40 }, async () => res.client(await TestClient.connect(n1!.url))));
    // Both members of each room join at once: either join may run first, and its node may read the
    // other's peer-joined before its own join's reply.
    firsts.forEach((c, i) => c.send({ type: 'join', room: `race-${i}` }));
    seconds.forEach((c, i) => c.send({ type: 'join', room: `race-${i}` }));
    const joined = await Promise.all([...firsts, ...seconds].map((c) => c.next('joined', 10_000)));
    for (let i = 0; i < 40; i++) {
      const [a, b] = [firsts[i]!, seconds[i]!];
      const [ja, jb] = [joined[i]!, joined[40 + i]!];
      // Whoever joined second got the first in `peers`; the first hears `peer-joined`.
      const aFirst = ja.peers.length === 0;
      const early = aFirst ? a : b;
      expect((await early.next('peer-joined', 5_000)).peer.id).toBe((aFirst ? jb : ja).self.id);
      await a.next('ready', 5_000);
      await b.next('ready', 5_000);
      // And a broadcast from each reaches the other.
      a.send({ type: 'signal', data: `from a ${i}` });
      b.send({ type: 'signal', data: `from b ${i}` });
      expect((await b.next('signal', 5_000)).data).toBe(`from a ${i}`);
      expect((await a.next('signal', 5_000)).data).toBe(`from b ${i}`);
    }
  });

  it("a signal sent to a node for a member that is not there (it moved) is passed on once to the room's channel and delivered by the node holding it", async () => {
    const [n0, n1] = await servers(2);
    const { c: a } = await join(n0!, 'moved');
    const { c: b, joined: jb } = await join(n1!, 'moved');
    await a.next('peer-joined');
    // What a node with a stale view sends: b's signal on node-0's channel (b is on node-1).
    const keys = new RedisKeys(prefix);
    const frame = JSON.stringify({ type: 'signal', from: 'someone', data: 'via node-0' });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      expect(await raw.publish(keys.nodeChannel('node-0'), encodeEnvelopes('zz', [{ room: 'moved', to: jb.self.id, frame, origin: 'zz', queue: true }], { boot: 'ab', seq: 1 }))).toBe(1);
    } finally {
      await raw.close();
    }
    expect(await b.next('signal')).toEqual({ type: 'signal', from: 'someone', data: 'via node-0' });
    // Once: a later signal from a (after the passed-on one on node-0's connection) comes next.
    a.send({ type: 'signal', to: jb.self.id, data: 'marker' });
    expect((await b.next('signal')).data).toBe('marker');
    expect(await b.none('signal')).toBe(true);
    expect(await a.none('signal')).toBe(true);
  });
});
