/**
 * Direct links between nodes (src/store/node-links.ts): once a link is up, a node's messages for
 * another node go over it, not through Redis pub/sub, and still arrive exactly once and in order
 * with the sender's room-channel messages; a link that breaks loses nothing (its unacknowledged
 * messages are re-sent over Redis, none twice); a node without links is reached over Redis; a
 * dialler with a wrong token is refused and the node goes on serving.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pino } from 'pino';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { linkRequestHeaders } from '../../src/store/node-link-wire.js';
import { RedisStore } from '../../src/store/redis.js';
import type { Envelope, MemberRecord } from '../../src/store/store.js';
import { redisForSuite } from '../helpers/redis-server.js';
import { requires } from '../helpers/requires.js';
import { Resources, startTestServer, TestClient } from '../helpers/server-harness.js';
import { startGate } from '../helpers/tcp-gate.js';
import { until, within } from '../helpers/within.js';

const member = (id: string, node: string): MemberRecord => ({ id, name: id, meta: {}, node });

describe('direct links between nodes (Redis store)', requires('redis-server'), () => {
  const redis = redisForSuite();
  const stores: RedisStore[] = [];
  let seq = 0;
  let prefix = '';

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  const store = async (id: string, o: { links?: false | { coalesceMs: number }; url?: string; logs?: Array<{ msg?: string; resent?: number; code?: string }> } = {}): Promise<RedisStore> => {
    const logs = o.logs;
    const logger = logs === undefined ? undefined : pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg?: string }) });
    const links = o.links === undefined ? {} : { links: o.links === false ? (false as const) : { host: '127.0.0.1', port: 0, coalesceMs: o.links.coalesceMs } };
    const s = new RedisStore({ url: o.url ?? redis.url, keyPrefix: prefix, nodeId: id, heartbeatMs: 1_000, logger, ...links });
    stores.push(s);
    await s.start();
    return s;
  };
  const got = (s: RedisStore): Array<Envelope & { direct: boolean }> => {
    const out: Array<Envelope & { direct: boolean }> = [];
    s.subscribe((e, direct) => out.push({ ...e, direct }));
    return out;
  };
  /** PUBLISH calls Redis has run so far (INFO commandstats). */
  const publishes = async (): Promise<number> => {
    const raw = createClient({ url: redis.url });
    await raw.connect();
    try {
      const text = await raw.info('commandstats');
      return Number(/cmdstat_publish:calls=(\d+)/.exec(text)?.[1] ?? 0);
    } finally {
      await raw.close();
    }
  };
  /** Two stores a and b holding one member each in rooms r1 and r2 (capacity 4). */
  const pair = async (o: Parameters<typeof store>[1] = {}): Promise<[RedisStore, RedisStore]> => {
    prefix = `nl${++seq}:`;
    const a = await store('a', o);
    const b = await store('b');
    for (const room of ['r1', 'r2']) {
      await a.join(room, member(`a-${room}`, 'a'), 4);
      await b.join(room, member(`b-${room}`, 'b'), 4);
    }
    return [a, b];
  };
  /** a publishes to b until a's link to b is synced (the first messages take Redis while it is dialled). */
  const linkUp = async (a: RedisStore): Promise<void> => {
    await until(
      () => {
        void a.publish({ room: 'r1', to: 'b-r1', frame: 'warm', origin: 'a', queue: true }, 'b');
        return a.links?.synced('b') === true;
      },
      5_000,
      "a's link to b",
    );
  };
  /**
   * Publishes `turns` turns of directed (node b) and room messages in both rooms from a, in a fixed
   * mixed order (`during(turn)` runs between turns); returns what each room was sent.
   */
  const pump = async (a: RedisStore, turns: number | ((turn: number) => boolean), during?: (turn: number) => void): Promise<{ sent: Record<string, string[]>; reached: number[] }> => {
    const sent: Record<string, string[]> = { r1: [], r2: [] };
    const pending: Array<Promise<number>> = [];
    let next = 11;
    const more = typeof turns === 'number' ? (turn: number) => turn < turns : turns;
    for (let turn = 0; more(turn); turn++) {
      for (let i = 0; i < 8; i++) {
        next = (next * 1103515245 + 12345) % 2 ** 31;
        const room = next % 2 === 0 ? 'r1' : 'r2';
        const directed = (next >> 3) % 4 !== 0;
        const frame = `${room}:${turn}:${i}:${directed ? 'd' : 'b'}`;
        sent[room]!.push(frame);
        pending.push(directed ? a.publish({ room, to: `b-${room}`, frame, origin: 'a', queue: true }, 'b') : a.publish({ room, except: `a-${room}`, frame, origin: 'a', queue: true }));
      }
      during?.(turn);
      await nextTurn();
    }
    return { sent, reached: await within(Promise.all(pending), 5_000, 'the publishes') };
  };
  const received = (onB: Envelope[], room: string): string[] => onB.filter((e) => e.room === room && e.frame !== 'warm').map((e) => e.frame);

  it("sends another node's messages over the link once it is up: exactly once, in order with the room's, and Redis carries none of the directed ones", async () => {
    const [a, b] = await pair();
    const onB = got(b);
    await linkUp(a);
    // b takes the link's messages once the marker (over Redis, behind the warm-up signals) is in.
    await until(() => b.links?.stats().in[0]?.synced === true, 2_000, "b's end synced");
    expect(b.links?.stats().in).toEqual([{ origin: 'a', synced: true }]);
    const before = await publishes();
    // Only directed messages: not one PUBLISH.
    const direct = await within(Promise.all(Array.from({ length: 30 }, (_, i) => a.publish({ room: 'r1', to: 'b-r1', frame: `only ${i}`, origin: 'a', queue: true }, 'b'))), 5_000, 'directed publishes');
    expect(direct.every((n) => n === 1)).toBe(true);
    expect(await publishes()).toBe(before);
    // Mixed with room messages (their Redis copy names b in `skip`): every one once, in order per room.
    const { sent, reached } = await pump(a, 25);
    expect(reached.every((n) => n === 1)).toBe(true);
    const total = 30 + sent.r1!.length + sent.r2!.length;
    await until(() => onB.filter((e) => e.frame !== 'warm').length >= total, 5_000, `${total} envelopes on b`);
    expect(received(onB, 'r1').filter((f) => !f.startsWith('only'))).toEqual(sent.r1);
    expect(received(onB, 'r2')).toEqual(sent.r2);
    expect(onB.filter((e) => e.frame !== 'warm')).toHaveLength(total);
    // Directed ones are handed over as addressed to b alone; room ones are not.
    expect(onB.filter((e) => e.frame.endsWith(':b')).every((e) => !e.direct)).toBe(true);
    expect(onB.filter((e) => e.frame.endsWith(':d')).every((e) => e.direct)).toBe(true);
  });

  it('with links.coalesceMs, writes at most once per that many ms, many turns in one write, each message once and in order; a message after a quiet spell goes at once', async () => {
    const coalesceMs = 40;
    const [a, b] = await pair({ links: { coalesceMs } });
    const onB = got(b);
    await linkUp(a);
    await until(() => b.links?.stats().in[0]?.synced === true, 2_000, "b's end synced");
    const writes = (): number => a.links?.stats().out[0]?.writes ?? NaN;
    const w0 = writes();
    const t0 = performance.now();
    // 30 turns of 8 messages: without coalescing, one write per turn.
    const { sent, reached } = await pump(a, 30);
    const elapsed = performance.now() - t0;
    expect(reached.every((n) => n === 1)).toBe(true);
    // One write at once, then at most one per coalesceMs (the bound follows the time taken, however slow the machine).
    expect(writes() - w0).toBeLessThanOrEqual(Math.floor(elapsed / coalesceMs) + 2);
    expect(writes() - w0).toBeLessThan(30);
    const total = sent.r1!.length + sent.r2!.length;
    await until(() => onB.filter((e) => e.frame !== 'warm').length >= total, 5_000, `${total} envelopes on b`);
    expect(received(onB, 'r1')).toEqual(sent.r1);
    expect(received(onB, 'r2')).toEqual(sent.r2);
    expect(onB.filter((e) => e.frame !== 'warm')).toHaveLength(total);
    // After a quiet spell longer than coalesceMs, a lone message is written in its own turn, not held.
    await new Promise((resolve) => setTimeout(resolve, coalesceMs * 2));
    const w1 = writes();
    const lone = a.publish({ room: 'r1', to: 'b-r1', frame: 'lone', origin: 'a', queue: true }, 'b').then(
      (n) => n,
      (err: unknown) => err,
    );
    // The store's own batching takes a turn before the link's: a few turns, no timer.
    for (let turn = 0; turn < 5 && writes() === w1; turn++) await nextTurn();
    expect(writes()).toBe(w1 + 1);
    expect(await within(lone, 5_000, 'the lone publish')).toBe(1);
  });

  it("writes a turn's link messages when the store sends them on, not a pass of the event loop later", async () => {
    const [a, b] = await pair();
    const onB = got(b);
    await linkUp(a);
    await until(() => b.links?.stats().in[0]?.synced === true, 2_000, "b's end synced");
    const writes = (): number => a.links?.stats().out[0]?.writes ?? NaN;
    for (let turn = 0; turn < 3; turn++) await nextTurn(); // the warm-up's writes are out
    const w0 = writes();
    const sent = a.publish({ room: 'r1', to: 'b-r1', frame: 'now', origin: 'a', queue: true }, 'b');
    // The store sends on from a setImmediate queued by publish; this one, queued after it, runs
    // right after it in the same pass of the loop: the write is out by then.
    const seen = await new Promise<number>((resolve) => setImmediate(() => resolve(writes())));
    expect(seen).toBe(w0 + 1);
    expect(await within(sent, 5_000, 'the publish')).toBe(1);
    await until(() => onB.some((e) => e.frame === 'now'), 5_000, "b's envelope");
  });

  it('keeps order and loses nothing while the link comes up mid-stream', async () => {
    const [a, b] = await pair();
    const onB = got(b);
    // From the first message on: the first ones take Redis, the later ones the link (30 turns after it is up; 5 s at most).
    const deadline = Date.now() + 5_000;
    let syncedAt: number | undefined;
    const { sent, reached } = await pump(a, (turn) => {
      if (syncedAt === undefined && a.links?.synced('b') === true) syncedAt = turn;
      return Date.now() < deadline && (syncedAt === undefined || turn < syncedAt + 30);
    });
    expect(syncedAt).toBeGreaterThan(0);
    expect(reached.every((n) => n === 1)).toBe(true);
    expect(a.links?.synced('b')).toBe(true);
    const total = sent.r1!.length + sent.r2!.length;
    await until(() => onB.length >= total, 5_000, `${total} envelopes on b`);
    expect(received(onB, 'r1')).toEqual(sent.r1);
    expect(received(onB, 'r2')).toEqual(sent.r2);
    expect(onB).toHaveLength(total);
  });

  it("holds a link's messages until its marker: what went over Redis before comes first", async () => {
    prefix = `nl${++seq}:`;
    // b reaches Redis through a gate that can hold what Redis sends it (the slow path).
    const gate = await startGate(redis.port);
    try {
      const a = await store('a');
      const b = await store('b', { url: gate.url });
      await a.join('r1', member('a-r1', 'a'), 4);
      await b.join('r1', member('b-r1', 'b'), 4);
      const onB = got(b);
      gate.hold();
      // Over Redis (no link yet; the first one has a dial it): held in the gate on their way to b.
      const early = Array.from({ length: 10 }, (_, i) => a.publish({ room: 'r1', to: 'b-r1', frame: `early ${i}`, origin: 'a', queue: true }, 'b'));
      await until(() => a.links?.synced('b') === true, 5_000, "a's link to b");
      // Over the link, after the marker, which is held in the gate behind the early ones.
      const late = Array.from({ length: 10 }, (_, i) => a.publish({ room: 'r1', to: 'b-r1', frame: `late ${i}`, origin: 'a', queue: true }, 'b'));
      await until(() => b.links?.stats().in.length === 1, 5_000, "b's end of the link");
      gate.release();
      expect(await within(Promise.all([...early, ...late]), 5_000, 'the publishes')).toEqual(Array.from({ length: 20 }, () => 1));
      await until(() => onB.length >= 20, 5_000, 'the 20 on b');
      expect(onB.map((e) => e.frame)).toEqual([...Array.from({ length: 10 }, (_, i) => `early ${i}`), ...Array.from({ length: 10 }, (_, i) => `late ${i}`)]);
    } finally {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      await gate.close();
    }
  });

  it('a link that breaks loses nothing: its unacknowledged messages are re-sent over Redis, none twice, in order', async () => {
    const logs: Array<{ msg?: string; resent?: number }> = [];
    const [a, b] = await pair({ logs });
    const onB = got(b);
    await linkUp(a);
    // Broken twice mid-stream, each time right after a turn's messages were sent (before b acknowledged them).
    const { sent, reached } = await pump(a, 60, (turn) => {
      if (turn === 20 || turn === 45) setImmediate(() => setImmediate(() => a.links?.drop('b')));
    });
    expect(reached.every((n) => n === 1)).toBe(true);
    const total = sent.r1!.length + sent.r2!.length;
    const mine = (): Envelope[] => onB.filter((e) => e.frame !== 'warm');
    await until(() => mine().length >= total, 5_000, `${total} envelopes on b`);
    expect(received(onB, 'r1')).toEqual(sent.r1);
    expect(received(onB, 'r2')).toEqual(sent.r2);
    expect(mine()).toHaveLength(total);
    const lost = logs.filter((l) => l.msg?.startsWith('link to a node lost') === true);
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(lost.some((l) => (l.resent ?? 0) > 0)).toBe(true);
  });

  it('reaches a node without links over Redis', async () => {
    prefix = `nl${++seq}:`;
    const a = await store('a');
    const b = await store('b', { links: false });
    const onB = got(b);
    await a.join('r', member('ma', 'a'), 2);
    await b.join('r', member('mb', 'b'), 2);
    expect(b.links).toBeUndefined();
    const frames = Array.from({ length: 40 }, (_, i) => `s${i}`);
    for (const f of frames) {
      expect(await within(a.publish({ room: 'r', to: 'mb', frame: f, origin: 'a', queue: true }, 'b'), 2_000, 'a publish')).toBe(1);
    }
    await until(() => onB.length >= frames.length, 2_000, 'the signals on b');
    expect(onB.map((e) => e.frame)).toEqual(frames);
    expect(a.links?.synced('b')).toBe(false);
  });

  it('refuses an upgrade without the token (401), closes a link that sends garbage (4400), and keeps serving the others', async () => {
    const logs: Array<{ msg?: string; code?: string }> = [];
    prefix = `nl${++seq}:`;
    const b = await store('b', { logs });
    const a = await store('a');
    const address = b.links?.address;
    if (address === undefined) throw new Error('b has no link address');
    const url = `ws://${address.host}:${address.port}/`;
    /** The status of a refused upgrade, or the close code of an admitted link after it sent `first`. */
    const dial = async (headers: Record<string, string>, first: string): Promise<{ status?: number; close?: number }> => {
      const ws = new WebSocket(url, { headers });
      try {
        return await within(
          new Promise((resolve, reject) => {
            ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
            ws.once('open', () => {
              ws.once('close', (code) => resolve({ close: code }));
              ws.send(first);
            });
            ws.once('error', reject);
          }),
          2_000,
          'the answer',
        );
      } finally {
        ws.terminate();
      }
    };
    const good = linkRequestHeaders('x', '0123456789abcdef', address.token);
    expect(await dial(linkRequestHeaders('x', '0123456789abcdef', 'f'.repeat(32)), 'E2 x 1.1\n')).toEqual({ status: 401 });
    expect(await dial({}, 'E2 x 1.1\n')).toEqual({ status: 401 });
    expect(await dial({ ...good, 'x-sigctl-node': 'not a node' }, 'E2 x 1.1\n')).toEqual({ status: 401 });
    // Admitted, then a message that is no E2 message of its node: closed.
    expect(await dial(good, 'EB 9\nx')).toEqual({ close: 4400 });
    expect(logs.filter((l) => l.code === 'UNAUTHORIZED' && l.msg === 'refused a node link: wrong or missing token')).toHaveLength(3);
    // Never the token itself in a log line.
    expect(JSON.stringify(logs)).not.toContain(address.token);
    const onB = got(b);
    await a.join('r1', member('a-r1', 'a'), 4);
    await b.join('r1', member('b-r1', 'b'), 4);
    await linkUp(a);
    expect(await within(a.publish({ room: 'r1', to: 'b-r1', frame: 'after', origin: 'a', queue: true }, 'b'), 2_000, 'a publish')).toBe(1);
    await until(() => onB.some((e) => e.frame === 'after'), 2_000, 'the signal after the refusals');
  });

  it('through two real servers: signals cross over the link both ways, and /metrics counts the link', async () => {
    prefix = `nl${++seq}:`;
    const res = new Resources();
    try {
      const [s0, s1] = [res.server(await startTestServer({}, { store: await store('n0') })), res.server(await startTestServer({}, { store: await store('n1') }))];
      const a = res.client(await TestClient.connect(s0.url));
      a.send({ type: 'join', room: 'call' });
      const ja = await a.next('joined');
      const b = res.client(await TestClient.connect(s1.url));
      b.send({ type: 'join', room: 'call' });
      const jb = await b.next('joined');
      await a.next('peer-joined');
      const gauge = async (s: typeof s0): Promise<string | undefined> => /^sigctl_node_links (\d+)$/m.exec(await s.metrics())?.[1];
      expect(await gauge(s0)).toBe('0');
      // Signals both ways until both directions go over links; then 50 more each way, all in order.
      let n = 0;
      await until(
        () => {
          a.send({ type: 'signal', to: jb.self.id, data: `warm ${n}` });
          b.send({ type: 'signal', to: ja.self.id, data: `warm ${n++}` });
          return stores.every((s) => s.links?.syncedNodes().length === 1);
        },
        5_000,
        'links both ways',
      );
      for (let i = 0; i < 50; i++) {
        a.send({ type: 'signal', to: jb.self.id, data: `a${i}` });
        b.send({ type: 'signal', data: `b${i}` });
      }
      for (let i = 0; i < n; i++) {
        expect((await b.next('signal')).data).toBe(`warm ${i}`);
        expect((await a.next('signal')).data).toBe(`warm ${i}`);
      }
      for (let i = 0; i < 50; i++) {
        expect((await b.next('signal')).data).toBe(`a${i}`);
        expect((await a.next('signal')).data).toBe(`b${i}`);
      }
      expect(await gauge(s0)).toBe('1');
      expect(await gauge(s1)).toBe('1');
      // A leave crosses too (a room message: over the link, skipped on Redis): once.
      b.send({ type: 'leave' });
      expect(await a.next('peer-left')).toMatchObject({ peer: jb.self.id, reason: 'leave' });
      expect(await a.none('peer-left')).toBe(true);
    } finally {
      await res.closeAll();
    }
  });
});
