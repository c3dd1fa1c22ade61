/**
 * The webhook dispatcher against real HTTP receivers on 127.0.0.1: the room events of a scripted
 * session become signed bodies that a receiver verifies, complete and in order per room, even when
 * the receiver fails the first attempts of every event (retries keep the id, so deduplication by id
 * leaves each fact once); filters per receiver; the counters in the metrics registry; the drop of
 * a dead receiver. The hub's own emissions through a real server are in ops-e2e.test.ts.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoomEvent } from '../../src/server/room-events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import type { WebhookEvent } from '../../src/webhooks/event.js';
import { within } from '../helpers/server-harness.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-dispatch-0123456789';
const FAST = { backoff: { baseMs: 10, capMs: 50, maxAttempts: 5 }, timeoutMs: 2000 };

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function receiver(handler?: (e: WebhookEvent, attempt: number) => number, secret = SECRET): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start(secret, handler);
  open.push(r);
  return r;
}

/** A store holding `room` with capacity `capacity`, so the dispatcher can read it. */
async function storeWith(rooms: Record<string, number>): Promise<MemoryStore> {
  const store = new MemoryStore({ nodeId: 'node-a' });
  for (const [room, capacity] of Object.entries(rooms)) await store.join(room, { id: 'seed', name: 'seed', meta: {}, node: 'node-a' }, capacity);
  return store;
}

function dispatcher(store: MemoryStore, receivers: Array<{ url: string; secret: string; events?: WebhookEvent['type'][] }>, registry?: Registry): WebhookDispatcher {
  const d = new WebhookDispatcher({ receivers, node: store.nodeId, capacity: (room) => store.capacity(room), logger: pino({ enabled: false }), registry, delivery: FAST });
  open.push(d);
  return d;
}

const alice = { id: 'm-alice', name: 'alice', meta: { role: 'host' } };
const bob = { id: 'm-bob', name: 'bob' };

/** The facts of one room's life: start, two joins, ready, meta, a drop and resume, a kick, a leave, the end. */
function session(room: string, t0: number): RoomEvent[] {
  return [
    { type: 'room.started', room, at: t0 },
    { type: 'member.joined', room, at: t0 + 1, member: alice, members: 1 },
    { type: 'member.joined', room, at: t0 + 2, member: bob, members: 2 },
    { type: 'room.ready', room, at: t0 + 2 },
    { type: 'member.updated', room, at: t0 + 3, member: { ...bob, meta: { muted: true } }, members: 2 },
    { type: 'member.resumed', room, at: t0 + 4, member: bob, members: 2 },
    { type: 'member.left', room, at: t0 + 5, member: bob, members: 1, reason: 'kicked' },
    { type: 'member.left', room, at: t0 + 6, member: alice, members: 0, reason: 'leave' },
    { type: 'room.finished', room, at: t0 + 6 },
  ];
}

describe('WebhookDispatcher', () => {
  it('delivers every fact of two interleaved rooms once, signed and in order, through a receiver that fails the first two attempts', async () => {
    const r = await receiver((_e, attempt) => (attempt <= 2 ? 503 : 204));
    const store = await storeWith({ 'room-1': 2, 'room-2': 4 });
    const d = dispatcher(store, [{ url: r.url, secret: SECRET }]);
    const a = session('room-1', 1_800_000_000_000);
    const b = session('room-2', 1_800_000_001_000);
    for (let i = 0; i < a.length; i++) {
      d.sink(a[i]!);
      d.sink(b[i]!);
    }
    expect(await within(d.drain(10_000), 11_000, 'drain')).toBe(true);

    expect(r.received.every((x) => x.verified)).toBe(true);
    // Each event was refused twice, then accepted: 3 attempts with one id.
    expect(r.received).toHaveLength(3 * (a.length + b.length));
    const accepted = r.accepted();
    expect(new Set(accepted.map((e) => e.id)).size).toBe(a.length + b.length);
    for (const [room, script, capacity] of [['room-1', a, 2], ['room-2', b, 4]] as const) {
      const got = accepted.filter((e) => e.room.id === room);
      expect(got.map((e) => e.type)).toEqual(script.map((e) => e.type));
      expect(got.map((e) => e.createdAt)).toEqual(script.map((e) => new Date(e.at).toISOString()));
      expect(got.every((e) => e.node === 'node-a' && e.room.capacity === capacity)).toBe(true);
      expect(got.map((e) => e.room.members)).toEqual([1, 1, 2, 2, 2, 2, 1, 0, 0]);
      expect(got[1]!.member).toEqual(alice);
      expect(got[4]!.member).toEqual({ ...bob, meta: { muted: true } });
      expect(got[6]).toMatchObject({ type: 'member.left', member: { id: 'm-bob' }, reason: 'kicked' });
      expect(got[7]).toMatchObject({ type: 'member.left', member: { id: 'm-alice' }, reason: 'leave' });
      expect(got.filter((e) => e.type !== 'member.left').every((e) => e.reason === undefined)).toBe(true);
    }
  });

  it('sends each receiver only the types it asked for, with the same ids as the others get', async () => {
    const all = await receiver();
    const leftOnly = await receiver();
    const store = await storeWith({ r: 2 });
    const d = dispatcher(store, [
      { url: all.url, secret: SECRET },
      { url: leftOnly.url, secret: SECRET, events: ['member.left', 'room.finished'] },
    ]);
    for (const e of session('r', Date.now())) d.sink(e);
    expect(await within(d.drain(5000), 6000, 'drain')).toBe(true);
    expect(all.accepted()).toHaveLength(9);
    expect(leftOnly.accepted().map((e) => e.type)).toEqual(['member.left', 'member.left', 'room.finished']);
    const ids = new Map(all.accepted().map((e) => [e.id, e.type]));
    for (const e of leftOnly.accepted()) expect(ids.get(e.id)).toBe(e.type);
  });

  it('gives two nodes distinct ids for their facts (a fact is sent by the node that made it true)', async () => {
    const r = await receiver();
    const store = await storeWith({ r: 2 });
    const one = dispatcher(store, [{ url: r.url, secret: SECRET }]);
    const other = new WebhookDispatcher({ receivers: [{ url: r.url, secret: SECRET }], node: 'node-b', capacity: (room) => store.capacity(room), logger: pino({ enabled: false }), delivery: FAST });
    open.push(other);
    one.sink({ type: 'member.joined', room: 'r', at: 1, member: alice, members: 1 });
    other.sink({ type: 'member.joined', room: 'r', at: 2, member: bob, members: 2 });
    await r.until('both events', () => r.accepted().length === 2);
    const [x, y] = r.accepted();
    expect(new Set([x!.node, y!.node])).toEqual(new Set(['node-a', 'node-b']));
    expect(x!.id).not.toBe(y!.id);
  });

  it('counts delivered, retried and dropped events in the metrics registry by receiver (without its query)', async () => {
    const ok = await receiver((_e, attempt) => (attempt === 1 ? 500 : 200));
    const refusing = await receiver(() => 400);
    const registry = new Registry();
    const store = await storeWith({ r: 2 });
    const d = dispatcher(store, [
      { url: `${ok.url}?token=kept-out-of-metrics`, secret: SECRET },
      { url: refusing.url, secret: SECRET },
    ], registry);
    d.sink({ type: 'room.started', room: 'r', at: 1 });
    d.sink({ type: 'member.joined', room: 'r', at: 2, member: alice, members: 1 });
    expect(await within(d.drain(5000), 6000, 'drain')).toBe(true);
    const text = await registry.metrics();
    expect(text).toContain(`sigctl_webhook_events_total{receiver="${ok.url}",outcome="delivered"} 2`);
    expect(text).toContain(`sigctl_webhook_events_total{receiver="${ok.url}",outcome="retried"} 2`);
    expect(text).toContain(`sigctl_webhook_events_total{receiver="${refusing.url}",outcome="dropped-refused"} 2`);
    expect(text).not.toContain('kept-out-of-metrics');
  });

  it('drops what a closed dispatcher still holds, and takes nothing more', async () => {
    const r = await receiver(() => 503);
    const store = await storeWith({ r: 2 });
    const registry = new Registry();
    const d = dispatcher(store, [{ url: r.url, secret: SECRET }], registry);
    d.sink({ type: 'room.started', room: 'r', at: 1 });
    await r.until('a first attempt', () => r.received.length > 0);
    d.close();
    d.sink({ type: 'room.finished', room: 'r', at: 2 });
    const text = await registry.metrics();
    expect(text).toContain(`sigctl_webhook_events_total{receiver="${r.url}",outcome="dropped-closed"} 1`);
    expect(r.accepted()).toHaveLength(0);
  });
});
