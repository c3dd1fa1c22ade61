/**
 * Webhook delivery against a real HTTP receiver on 127.0.0.1: signatures the receiver can verify,
 * retries with the same id, order per room, rooms independent of each other, refusals, give-up,
 * the bounded queue, timeouts and close.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookDelivery, type WebhookDeliveryOptions, type WebhookOutcome } from '../../src/webhooks/delivery.js';
import { WebhookEvent, type WebhookEventType } from '../../src/webhooks/event.js';
import { signWebhook, verifyWebhook, WEBHOOK_SIGNATURE_HEADER } from '../../src/webhooks/signature.js';
import { within } from '../helpers/server-harness.js';

const SECRET = 'whsec-test-0123456789abcdef';

interface Received {
  event: WebhookEvent;
  raw: string;
  signature: string | undefined;
  status: number;
}

type Handler = (event: WebhookEvent, attempt: number) => number | 'hang';

/** A receiver that verifies every request and answers what `handler` says. */
class Receiver {
  readonly received: Received[] = [];
  readonly hung = new Set<ServerResponse>();
  private readonly attempts = new Map<string, number>();
  private waiters: Array<() => void> = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
    public handler: Handler,
  ) {}

  static async start(handler: Handler = () => 200): Promise<Receiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const self = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks?key=not-logged`, handler);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void self.onRequest(req, res));
    return self;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const event = WebhookEvent.parse(JSON.parse(raw));
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    const answer = this.handler(event, attempt);
    const header = req.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
    this.received.push({ event, raw, signature: Array.isArray(header) ? header[0] : header, status: answer === 'hang' ? 0 : answer });
    if (answer === 'hang') this.hung.add(res);
    else res.writeHead(answer).end();
    for (const w of [...this.waiters]) w();
  }

  /** Ids of the events answered 2xx, in arrival order. */
  accepted(): string[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.event.id);
  }

  until(what: string, done: () => boolean, ms = 5000): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!done()) return;
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        };
        this.waiters.push(check);
        check();
      }),
      ms,
      what,
    );
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let seq = 0;
function event(room: string, type: WebhookEventType = 'member.joined'): WebhookEvent {
  seq++;
  return { id: `ev-${room}-${seq}`, type, createdAt: new Date().toISOString(), node: 'n1', room: { id: room, capacity: 2, members: 1 }, member: { id: `m${seq}`, name: 'alice' } };
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(handler: Handler, options: Partial<WebhookDeliveryOptions> = {}): Promise<{ r: Receiver; d: WebhookDelivery; outcomes: Array<[WebhookOutcome, string]> }> {
  const r = await Receiver.start(handler);
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
    expect(r.accepted()).toEqual(evs.map((e) => e.id));
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
    expect(r.accepted()).toEqual([other.id, first.id, second.id]);
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
    const r = await Receiver.start(() => 200);
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
