/**
 * Concurrency: 200 joins racing into rooms of 2, then churn (leaves and joins at once). Rooms never
 * exceed capacity, ready goes out exactly once per 1 -> 2, and no relayed message is lost or doubled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';

describe('server capacity under concurrency', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('200 concurrent joins into 50 rooms of 2: every room ends with exactly 2, one ready per room', async () => {
    const s = res.server(await startTestServer({ limits: { maxConnectionsPerIp: 512 } }));
    const clients = await within(Promise.all(Array.from({ length: 200 }, async () => res.client(await TestClient.connect(s.url)))), 20_000, '200 connections');
    const rooms = Array.from({ length: 50 }, (_, i) => `race-${i}`);
    // Fire every join before awaiting any answer.
    clients.forEach((c, i) => c.send({ type: 'join', room: rooms[i % 50], id: i }));
    const outcomes = await within(
      Promise.all(
        clients.map(async (c, i) => {
          const f = await c.nextOf(['joined', 'error'], 10_000);
          return { i, room: rooms[i % 50]!, c, ok: f.type === 'joined', f };
        }),
      ),
      15_000,
      'every join answered',
    );
    const joined = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    expect(joined).toHaveLength(100);
    for (const o of refused) expect(o.f).toMatchObject({ type: 'error', code: 'ROOM_FULL' });
    for (const room of rooms) {
      const members = joined.filter((o) => o.room === room);
      expect(members).toHaveLength(2);
      const readies = await Promise.all(members.map((m) => m.c.next('ready', 5000)));
      expect(readies[0]).toEqual(readies[1]);
    }
    // Every join has been answered, so a second ready would already be on its way: each member's
    // marker ping is answered after it.
    await within(Promise.all(joined.map((o) => o.c.settled(10_000))), 15_000, 'every member settled');
    for (const o of joined) expect(o.c.frames.filter((f) => f.type === 'ready')).toHaveLength(0);
    expect(await s.metrics()).toMatch(/^sigctl_members 100$/m);

    // Churn: one member of every room leaves while a refused client rejoins, all at once.
    const leavers = rooms.map((room) => joined.find((o) => o.room === room)!);
    const rejoiners = rooms.map((room) => refused.find((o) => o.room === room)!);
    leavers.forEach((o) => o.c.send({ type: 'leave' }));
    rejoiners.forEach((o) => o.c.send({ type: 'join', room: o.room }));
    await within(Promise.all(leavers.map((o) => o.c.next('left', 10_000))), 15_000, 'every leave answered');
    const rejoined = await Promise.all(rejoiners.map(async (o) => (await o.c.nextOf(['joined', 'error'], 10_000)).type === 'joined'));
    // A rejoin that raced ahead of the leave may have found the room full; none may overfill it.
    const m = await s.metrics();
    const members = Number(/^sigctl_members (\d+)$/m.exec(m)?.[1]);
    expect(members).toBe(50 + rejoined.filter(Boolean).length);
  });

  it('relays every message exactly once, in order, while many rooms talk at once', async () => {
    const s = res.server(await startTestServer({ limits: { messagesPerSecond: 10_000, burst: 10_000 } }));
    const pairs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const a = res.client(await TestClient.connect(s.url));
        const b = res.client(await TestClient.connect(s.url));
        a.send({ type: 'join', room: `talk-${i}` });
        await a.next('joined');
        b.send({ type: 'join', room: `talk-${i}` });
        await b.next('joined');
        return { a, b };
      }),
    );
    const N = 50;
    for (let k = 0; k < N; k++) for (const { a, b } of pairs) {
      a.send({ type: 'signal', data: { k } });
      b.send({ type: 'signal', data: { k } });
    }
    for (const { a, b } of pairs) {
      for (const c of [a, b]) {
        for (let k = 0; k < N; k++) expect((await c.next('signal', 5000)).data).toEqual({ k });
      }
    }
    // Both members' marker pings are answered after every relay of the signals they sent before it.
    await within(Promise.all(pairs.flatMap(({ a, b }) => [a.settled(), b.settled()])), 10_000, 'every member settled');
    for (const { a, b } of pairs) expect([...a.frames, ...b.frames].filter((f) => f.type === 'signal')).toHaveLength(0);
  });
});
