import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { createClient } from 'redis';
import { SigctlError } from '../../src/protocol/errors.js';
import { encodeEnvelopes } from '../../src/store/redis-envelope.js';
import { RedisKeys } from '../../src/store/redis-keys.js';
import { RedisStore } from '../../src/store/redis.js';
import type { Envelope, MemberRecord } from '../../src/store/store.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { until } from '../helpers/within.js';
import { requires } from '../helpers/requires.js';

let redis: RedisProcess;
const open: RedisStore[] = [];
let prefixSeq = 0;
let prefix = '';

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function node(id: string, heartbeatMs = 3_000, logger?: Logger): Promise<RedisStore> {
  const store = new RedisStore({ url: redis.url, keyPrefix: prefix, nodeId: id, heartbeatMs, logger });
  open.push(store);
  await store.start();
  return store;
}

function member(id: string, nodeId: string): MemberRecord {
  return { id, name: `n-${id}`, meta: { list: [], nested: { a: 1 } }, node: nodeId };
}

describe('RedisStore', requires('redis-server'), () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('keeps capacity and a single ready under 200 concurrent joins from three nodes', async () => {
    prefix = `t${prefixSeq++}:`;
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => node(id)));
    const rooms = 50;
    const joins = Array.from({ length: 200 }, (_, i) => {
      const n = nodes[i % 3]!;
      return n.join(`room:${i % rooms}`, member(`m${i}`, n.nodeId), 2);
    });
    const results = await Promise.all(joins);
    const ok = results.filter((r) => r.ok);
    expect(ok).toHaveLength(rooms * 2);
    expect(results.filter((r) => r.ok && r.ready)).toHaveLength(rooms);
    for (let r = 0; r < rooms; r++) expect(await nodes[0]!.members(`room:${r}`)).toHaveLength(2);
  });

  it('keeps user metadata byte-exact, including empty arrays, and join order', async () => {
    prefix = `t${prefixSeq++}:`;
    const a = await node('a');
    await a.join('r', member('x', 'a'), 4);
    await a.join('r', member('y', 'a'), 4);
    await a.setMeta('r', 'y', { audio: false, tags: [] });
    const members = await a.members('r');
    expect(members.map((m) => m.id)).toEqual(['x', 'y']);
    expect(members[1]!.meta).toEqual({ audio: false, tags: [] });
    expect(await a.capacity('r')).toBe(4);
    const left = await a.leave('r', 'x');
    expect(left).toEqual({ removed: true, remaining: [expect.objectContaining({ id: 'y' })] });
    await a.leave('r', 'y');
    expect(await a.capacity('r')).toBeUndefined();
  });

  it('room ids with colons and braces cannot collide', async () => {
    prefix = `t${prefixSeq++}:`;
    const a = await node('a');
    await a.join('x', member('1', 'a'), 1);
    expect((await a.join('x:members', member('2', 'a'), 1)).ok).toBe(true);
    expect((await a.join('x:', member('3', 'a'), 1)).ok).toBe(true);
    expect((await a.members('x')).map((m) => m.id)).toEqual(['1']);
  });

  it('delivers envelopes to the other nodes holding members of the room only', async () => {
    prefix = `t${prefixSeq++}:`;
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((id) => node(id)));
    const got: Record<string, Envelope[]> = { a: [], b: [], c: [] };
    for (const s of [a!, b!, c!]) s.subscribe((e) => got[s.nodeId]!.push(e));
    await a!.join('r', member('ma', 'a'), 2);
    await b!.join('r', member('mb', 'b'), 2);
    await c!.join('elsewhere', member('mc', 'c'), 2);
    await a!.publish({ room: 'r', to: 'mb', frame: '{"type":"signal"}', origin: 'a' });
    await until(() => got.b!.length === 1, 2_000, 'the envelope on b');
    // Markers, published after a's envelope was handed out: whatever Redis sent a (its own
    // envelope back) or c (not in the room) for it arrives before them.
    await b!.publish({ room: 'r', to: 'ma', frame: '{"type":"marker"}', origin: 'b' });
    await b!.publish({ room: 'elsewhere', to: 'mc', frame: '{"type":"marker"}', origin: 'b' });
    await until(() => got.a!.length > 0 && got.c!.length > 0, 2_000, 'the markers on a and c');
    expect(got.a).toEqual([expect.objectContaining({ room: 'r', frame: '{"type":"marker"}' })]);
    expect(got.c).toEqual([expect.objectContaining({ room: 'elsewhere', frame: '{"type":"marker"}' })]);
    expect(got.b).toEqual([expect.objectContaining({ room: 'r', to: 'mb', origin: 'a' })]);
  });

  it('takes a resume record once, and bounds resume queues', async () => {
    prefix = `t${prefixSeq++}:`;
    const a = await node('a');
    const rec = { room: 'r', member: member('m', 'a'), expiresAt: Date.now() + 5_000 };
    await a.putResume('tok', rec);
    const taken = await Promise.all([a.takeResume('tok'), a.takeResume('tok')]);
    expect(taken.filter((t) => t !== undefined)).toHaveLength(1);
    for (let i = 0; i < 5; i++) await a.enqueue('r', 'm', `f${i}`, 3);
    expect(await a.drainQueue('r', 'm')).toEqual({ frames: ['f2', 'f3', 'f4'], dropped: 2 });
    expect(await a.drainQueue('r', 'm')).toEqual({ frames: [], dropped: 0 });
  });

  it('drops a message older than one already taken from its node and room (a late re-send), keeps the rest in order', async () => {
    prefix = `t${prefixSeq++}:`;
    const a = await node('a');
    const got: Envelope[] = [];
    a.subscribe((e) => got.push(e));
    await a.join('r', member('ma', 'a'), 2);
    const env = (n: number): Envelope => ({ room: 'r', to: 'ma', frame: `{"type":"signal","data":${n}}`, origin: 'z' });
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const channel = new RedisKeys(prefix).channel('r');
      // seq 2 overtook seq 1 (the late re-send); then a restarted z (new boot) starts again at 1.
      await raw.publish(channel, encodeEnvelopes('z', [env(2)], { boot: 'aa', seq: 2 }));
      await raw.publish(channel, encodeEnvelopes('z', [env(1)], { boot: 'aa', seq: 1 }));
      await raw.publish(channel, encodeEnvelopes('z', [env(3)], { boot: 'aa', seq: 3 }));
      await raw.publish(channel, encodeEnvelopes('z', [env(4)], { boot: 'bb', seq: 1 }));
    } finally {
      await raw.close();
    }
    await until(() => got.length >= 3, 2_000, 'the three in-order envelopes');
    expect(got.map((e) => e.frame)).toEqual([env(2).frame, env(3).frame, env(4).frame]);
  });

  it('drops a malformed envelope with a log line and keeps delivering the next ones', async () => {
    prefix = `t${prefixSeq++}:`;
    const lines: Array<{ code?: string; msg?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { code?: string; msg?: string }) });
    const [a, b] = await Promise.all([node('a', 3_000, logger), node('b')]);
    const got: Envelope[] = [];
    a.subscribe((e) => got.push(e));
    await a.join('r', member('ma', 'a'), 2);
    await b.join('r', member('mb', 'b'), 2);
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      // Each one published (and so queued to the subscriber) before the valid envelope below.
      for (const bad of ['not json', '{"room":"r"}', '{"room":1,"frame":"x","origin":"z"}', '[]']) await raw.publish(new RedisKeys(prefix).channel('r'), bad);
    } finally {
      await raw.close();
    }
    await b.publish({ room: 'r', to: 'ma', frame: '{"type":"signal"}', origin: 'b' });
    await until(() => got.length === 1, 2_000, 'the valid envelope');
    expect(got[0]).toMatchObject({ room: 'r', to: 'ma', frame: '{"type":"signal"}', origin: 'b' });
    expect(lines.filter((l) => l.code === 'INTERNAL' && l.msg === 'dropped a malformed envelope from another node')).toHaveLength(4);
  });

  it('refuses a corrupt resume record with INTERNAL and a log line, and keeps serving', async () => {
    prefix = `t${prefixSeq++}:`;
    const lines: Array<{ code?: string; msg?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { code?: string; msg?: string }) });
    const a = await node('a', 3_000, logger);
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      await raw.set(new RedisKeys(prefix).resume('bad'), '{"room":"r","member":{"id":"m"},"expiresAt":1}');
      await raw.set(new RedisKeys(prefix).resume('worse'), 'not json');
    } finally {
      await raw.close();
    }
    for (const token of ['bad', 'worse']) {
      const err = await a.takeResume(token).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SigctlError);
      expect((err as SigctlError).code).toBe('INTERNAL');
    }
    expect(lines.filter((l) => l.code === 'INTERNAL' && l.msg === 'dropped a corrupt resume record')).toHaveLength(2);
    expect(a.healthy).toBe(true);
    const rec = { room: 'r', member: member('m', 'a'), expiresAt: Date.now() + 5_000 };
    await a.putResume('good', rec);
    expect(await a.takeResume('good')).toEqual(rec);
  });

  it('moves a member to another node on resume', async () => {
    prefix = `t${prefixSeq++}:`;
    const [a, b] = await Promise.all(['a', 'b'].map((id) => node(id)));
    await a!.join('r', member('m', 'a'), 2);
    const moved = await b!.setNode('r', 'm', 'b');
    expect(moved?.node).toBe('b');
    expect((await a!.members('r'))[0]!.node).toBe('b');
  });

  it('forgets a member that resumed on another node, so an outage does not bring it back', async () => {
    prefix = `t${prefixSeq++}:`;
    const [a, b] = await Promise.all(['a', 'b'].map((id) => node(id, 200)));
    const got: Envelope[] = [];
    a!.subscribe((e) => got.push(e));
    await a!.join('r', member('m', 'a'), 2);
    await b!.setNode('r', 'm', 'b');
    await b!.publish({ room: 'r', moved: 'm', frame: '', origin: 'b' });
    // The store forgets the member before its handlers see the envelope (redis-channels.ts).
    await until(() => got.some((e) => e.moved === 'm'), 2_000, 'the moved envelope on a');
    // Only a recovers, so only a could bring the member back (b would restore it as m@b, and
    // which of the two restores last would decide what the room shows).
    await b!.close();
    const health: string[] = [];
    a!.onHealth((h) => health.push(h));
    await redis.restart();
    // a went down and came back: it finished its recovery, restores included, before 'up'.
    await until(() => health.includes('down') && a!.healthy, 10_000, 'a down, then healthy again');
    expect(await a!.members('r')).toEqual([]);
  });

  it('reaps the members of a node that stopped heartbeating', async () => {
    prefix = `t${prefixSeq++}:`;
    const survivor = await node('s', 200);
    const doomed = new RedisStore({ url: redis.url, keyPrefix: prefix, nodeId: 'd', heartbeatMs: 200 });
    await doomed.start();
    await doomed.join('r', member('dm', 'd'), 2);
    await survivor.join('r', member('sm', 's'), 2);
    const reaped: string[] = [];
    survivor.onReap((m) => reaped.push(`${m.room}/${m.memberId}/${m.remaining.length}`));
    // Simulate kill -9: the dead node's connections vanish without a goodbye.
    // (Reaches into the lifecycle's private parts: no public API should offer a crash.)
    const clients = (doomed as unknown as { life: { heartbeatTimer: NodeJS.Timeout; cmd: { destroy(): void }; sub: { destroy(): void } } }).life;
    clients.heartbeatTimer.close();
    clients.cmd.destroy();
    clients.sub.destroy();
    await until(() => reaped.length > 0, 3_000, 'a reaped member');
    expect(reaped).toEqual(['r/dm/1']);
    expect((await survivor.members('r')).map((m) => m.id)).toEqual(['sm']);
    expect((await survivor.nodes()).map((n) => n.id)).toEqual(['s']);
  });

  it('reports down while Redis is gone and re-registers its members when it returns', async () => {
    prefix = `t${prefixSeq++}:`;
    const a = await node('a', 200);
    await a.join('r', member('m', 'a'), 2);
    const health: string[] = [];
    a.onHealth((h) => health.push(h));
    await redis.restart();
    await until(() => health.includes('down') && a.healthy, 10_000, 'down, then healthy again');
    expect(health[0]).toBe('down');
    expect(health[health.length - 1]).toBe('up');
    // The restarted Redis was empty: the node put its member back.
    expect((await a.members('r')).map((m) => m.id)).toEqual(['m']);
    await expect(a.join('r', member('n', 'a'), 2)).resolves.toMatchObject({ ok: true, ready: true });
  });

  it('rejects a publish Redis does not answer with UNAVAILABLE, and reports down', async () => {
    prefix = `t${prefixSeq++}:`;
    const store = new RedisStore({ url: redis.url, keyPrefix: prefix, nodeId: 'a', timeoutMs: 300, links: false });
    open.push(store);
    await store.start();
    await store.join('r', member('m', 'a'), 2);
    redis.freeze();
    try {
      const err: unknown = await store.publish({ room: 'r', frame: '{"type":"signal"}', origin: 'a' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The PUBLISH's deadline, as the store's catalogue error (the frame never reached Redis's reply).
      expect(err).toBeInstanceOf(SigctlError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
      expect(store.healthy).toBe(false);
      // While down, a publish is refused at once, with the same code.
      await expect(store.publish({ room: 'r', frame: '{}', origin: 'a' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      redis.thaw();
    }
  });
});
