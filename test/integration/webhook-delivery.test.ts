/**
 * Webhook delivery against a real HTTP receiver on 127.0.0.1: signatures the receiver can verify,
 * retries with the same id, order per room, rooms independent of each other, refusals, give-up,
 * the bounded queue, timeouts and close.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookDelivery, type WebhookDeliveryOptions, type WebhookOutcome } from '../../src/webhooks/delivery.js';
import type { WebhookEvent, WebhookEventType } from '../../src/webhooks/event.js';
import { signWebhook, verifyWebhook } from '../../src/webhooks/signature.js';
import { WebhookReceiver, type ReceiverHandler } from '../helpers/webhook-receiver.js';
import { within } from '../helpers/within.js';

const SECRET = 'whsec-test-0123456789abcdef';

let seq = 0;
function event(room: string, type: WebhookEventType = 'member.joined'): WebhookEvent {
  seq++;
  return { id: `ev-${room}-${seq}`, type, createdAt: new Date().toISOString(), node: 'n1', room: { id: room, capacity: 2, members: 1 }, member: { id: `m${seq}`, name: 'alice' } };
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(handler: ReceiverHandler, options: Partial<WebhookDeliveryOptions> = {}): Promise<{ r: WebhookReceiver; d: WebhookDelivery; outcomes: Array<[WebhookOutcome, string]> }> {
  const r = await WebhookReceiver.start(SECRET, handler, '?key=not-logged');
  open.push(r);
  const outcomes: Array<[WebhookOutcome, string]> = [];
  const d = new WebhookDelivery({
    receiver: { url: r.url, secret: SECRET },
    backoff: { baseMs: 20, capMs: 200, maxAttempts: 5 },
    onOutcome: (o, e) => outcomes.push([o, e.id]),
    ...options,
  });
  open.push(d);
  return { r, d, outcomes };
}

describe('webhook signatures', () => {
  it('verifies what the sender signs and refuses tampering, staleness and junk, each with its reason', () => {
    const body = JSON.stringify(event('sig'));
    const t = 1_800_000_000;
    const header = signWebhook(SECRET, body, t);
    expect(verifyWebhook({ secret: SECRET, body, header, now: t + 10 })).toEqual({ ok: true, timestamp: t });
    expect(verifyWebhook({ secret: SECRET, body: Buffer.from(body), header: [header], now: t })).toEqual({ ok: true, timestamp: t });
    expect(verifyWebhook({ secret: SECRET, body: body.replace('alice', 'mallo'), header, now: t })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhook({ secret: 'another-secret-of-some-length', body, header, now: t })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhook({ secret: SECRET, body, header, now: t + 301 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook({ secret: SECRET, body, header: undefined, now: t })).toEqual({ ok: false, reason: 'missing' });
    expect(verifyWebhook({ secret: SECRET, body, header: 'v1=zz,t=abc', now: t })).toEqual({ ok: false, reason: 'malformed' });
    // A second v1 (secret rotation) is enough when either matches.
    expect(verifyWebhook({ secret: SECRET, body, header: `t=${t},v1=${'0'.repeat(64)},${header.split(',')[1] ?? ''}`, now: t }).ok).toBe(true);
  });
});

describe('WebhookDelivery', () => {
  it('POSTs each event once, signed so that the receiver verifies it, in order', async () => {
    const { r, d, outcomes } = await setup(() => 204);
    const evs = [event('a', 'room.started'), event('a'), event('a', 'room.ready')];
    for (const e of evs) expect(d.enqueue(e)).toBe(true);
    expect(await within(d.drain(5000), 6000, 'drain')).toBe(true);
    expect(r.accepted().map((e) => e.id)).toEqual(evs.map((e) => e.id));
    for (const got of r.received) expect(verifyWebhook({ secret: SECRET, body: got.raw, header: got.signature }).ok).toBe(true);
    expect(outcomes.map(([o]) => o)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('retries a failed event with the same id and body, and holds its room back, not other rooms', async () => {
    let bDone = false;
    const first = event('a');
    const { r, d, outcomes } = await setup((e) => {
      if (e.room.id === 'b') {
        bDone = true;
        return 200;
      }
      // Room a's first event fails until room b's event has been accepted: b must not wait for a.
      return e.id === first.id && !bDone ? 503 : 200;
    });
    const second = event('a');
    const other = event('b');
    d.enqueue(first);
    d.enqueue(second);
    d.enqueue(other);
    expect(await within(d.drain(5000), 6000, 'drain')).toBe(true);
    const attemptsOfFirst = r.received.filter((x) => x.event.id === first.id);
    expect(attemptsOfFirst.length).toBeGreaterThan(1);
    expect(new Set(attemptsOfFirst.map((x) => x.raw)).size).toBe(1);
    // Room a: the second event is only ever sent after the first was accepted.
    const ids = r.received.map((x) => `${x.event.id}:${x.status}`);
    expect(ids.indexOf(`${second.id}:200`)).toBeGreaterThan(ids.indexOf(`${first.id}:200`));
    expect(r.accepted().map((e) => e.id)).toEqual([other.id, first.id, second.id]);
    expect(outcomes.filter(([o]) => o === 'retried').every(([, id]) => id === first.id)).toBe(true);
  });

  it('does not retry a refusal (4xx) and moves on to the next event of the room', async () => {
    const bad = event('a');
    const { r, d, outcomes } = await setup((e) => (e.id === bad.id ? 400 : 200));
    const next = event('a');
    d.enqueue(bad);
    d.enqueue(next);
    expect(await within(d.drain(5000), 6000, 'drain')).toBe(true);
    expect(r.received.map((x) => x.event.id)).toEqual([bad.id, next.id]);
    expect(outcomes).toEqual([
      ['dropped-refused', bad.id],
      ['delivered', next.id],
    ]);
  });

  it('gives up after the last retry, counted, and delivers the rest', async () => {
    const doomed = event('a');
    const { r, d, outcomes } = await setup((e) => (e.id === doomed.id ? 500 : 200), { backoff: { baseMs: 5, capMs: 20, maxAttempts: 2 } });
    const next = event('a');
    d.enqueue(doomed);
    d.enqueue(next);
    expect(await within(d.drain(5000), 6000, 'drain')).toBe(true);
    expect(r.received.filter((x) => x.event.id === doomed.id)).toHaveLength(3);
    expect(outcomes).toEqual([
      ['retried', doomed.id],
      ['retried', doomed.id],
      ['dropped-gave-up', doomed.id],
      ['delivered', next.id],
    ]);
  });

  it('keeps a bounded queue when the receiver hangs: new events are dropped and counted, close aborts the rest', async () => {
    const { r, d, outcomes } = await setup(() => 'hang', { maxQueue: 3, concurrency: 1, timeoutMs: 30_000 });
    const evs = [event('a'), event('b'), event('c'), event('d'), event('e')];
    expect(evs.map((e) => d.enqueue(e))).toEqual([true, true, true, false, false]);
    expect(d.queued).toBe(3);
    await r.until('the first request to arrive', () => r.received.length === 1);
    d.close();
    d.close();
    expect(d.enqueue(event('f'))).toBe(false);
    expect(outcomes.filter(([o]) => o === 'dropped-queue-full').map(([, id]) => id)).toEqual([evs[3]?.id, evs[4]?.id]);
    expect(outcomes.filter(([o]) => o === 'dropped-closed')).toHaveLength(3);
    expect(d.queued).toBe(0);
  });

  it('treats a request that outlives its time limit as failed and retries it', async () => {
    const { r, d, outcomes } = await setup((_e, attempt) => (attempt === 1 ? 'hang' : 200), { timeoutMs: 200 });
    const e = event('a');
    d.enqueue(e);
    expect(await within(d.drain(5000), 6000, 'drain')).toBe(true);
    expect(r.received.map((x) => x.status)).toEqual([0, 200]);
    expect(outcomes).toEqual([
      ['retried', e.id],
      ['delivered', e.id],
    ]);
  });

  it('sends only the event types the receiver asked for', async () => {
    const r = await WebhookReceiver.start(SECRET, () => 200, '?key=not-logged');
    open.push(r);
    const filtered = new WebhookDelivery({ receiver: { url: r.url, secret: SECRET, events: ['room.finished'] } });
    open.push(filtered);
    expect(filtered.enqueue(event('a', 'member.joined'))).toBe(false);
    expect(filtered.enqueue(event('a', 'room.finished'))).toBe(true);
    expect(await within(filtered.drain(5000), 6000, 'drain')).toBe(true);
    expect(r.received.map((x) => x.event.type)).toEqual(['room.finished']);
    expect(filtered.target).toBe(r.url.replace('?key=not-logged', ''));
  });
});
