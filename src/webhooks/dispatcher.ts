/**
 * The webhook dispatcher: turns the hub's room events (src/server/room-events.ts) into webhook
 * bodies and queues each on every configured receiver's WebhookDelivery.
 *
 * Invariants:
 * - One body per fact: the hub emits each fact once across the cluster (on the node that made it
 *   true), and the body gets an `id` made here (`<node>.<boot>.<n>`: unique per node start, then a
 *   counter), so every receiver sees the same id for the same fact and deduplicates retries by it.
 * - Order per room is the emission order: a room's bodies are built one after the other on a
 *   per-room promise chain (the capacity may need one store read), so the enqueue order of a room
 *   on every receiver is the order the hub emitted.
 * - The sink never throws and never waits: it is called synchronously on the hub's path.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RoomEvent, RoomEventSink } from '../server/room-events.js';
import type { WebhookEvent } from './event.js';
import { WebhookDelivery, type WebhookDeliveryOptions, type WebhookReceiver } from './delivery.js';
import { WebhookMetrics } from './metrics.js';

/** Capacities remembered for rooms whose events were seen, at most this many (oldest forgotten first). */
const CAPACITY_CACHE = 10_000;

/** What the dispatcher is built from. */
export interface WebhookDispatcherOptions {
  receivers: readonly WebhookReceiver[];
  /** This node's id (the body's `node`). */
  node: string;
  /** The capacity of a room, undefined when it does not exist (Store.capacity). */
  capacity: (room: string) => Promise<number | undefined>;
  logger: Logger;
  /** Where the delivery counters are registered (the server's /metrics registry). */
  registry?: Registry | undefined;
  /** Options passed to every receiver's delivery (tests shorten the backoff). */
  delivery?: Omit<WebhookDeliveryOptions, 'receiver' | 'logger' | 'onOutcome'> | undefined;
}

/** Room events to webhook bodies, queued on every receiver (see the module comment). */
export class WebhookDispatcher {
  /** Pass this to the hub (HubOptions.events). */
  readonly sink: RoomEventSink;
  readonly deliveries: readonly WebhookDelivery[];
  private readonly boot = randomBytes(4).toString('hex');
  private counter = 0;
  private readonly chains = new Map<string, { tail: Promise<void>; pending: number }>();
  private readonly capacities = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: WebhookDispatcherOptions) {
    const metrics = new WebhookMetrics(o.registry);
    this.deliveries = o.receivers.map((receiver) => {
      const delivery: WebhookDelivery = new WebhookDelivery({
        ...o.delivery,
        receiver,
        logger: o.logger,
        onOutcome: (outcome) => metrics.count(delivery.target, outcome),
      });
      return delivery;
    });
    this.sink = (e) => this.accept(e);
  }

  /** Resolves when every receiver's queue is empty, or after `timeoutMs` (then false). */
  async drain(timeoutMs: number): Promise<boolean> {
    await Promise.all([...this.chains.values()].map((c) => c.tail));
    const done = await Promise.all(this.deliveries.map((d) => d.drain(timeoutMs)));
    return done.every(Boolean);
  }

  /** Stops every delivery (what is queued is dropped and counted). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.deliveries) d.close();
  }

  private accept(e: RoomEvent): void {
    if (this.closed || this.deliveries.length === 0) return;
    // The id is taken now, in emission order, whatever the chain waits for.
    const id = `${this.o.node}.${this.boot}.${++this.counter}`;
    const chain = this.chains.get(e.room) ?? { tail: Promise.resolve(), pending: 0 };
    chain.pending++;
    chain.tail = chain.tail
      .then(() => this.body(id, e))
      .then(
        (body) => {
          for (const d of this.deliveries) d.enqueue(body);
        },
        (err: unknown) => this.o.logger.error({ err, event: 'webhook-error', room: e.room, type: e.type }, 'webhook event could not be built; dropped'),
      )
      .finally(() => {
        if (--chain.pending === 0 && this.chains.get(e.room) === chain) this.chains.delete(e.room);
      });
    this.chains.set(e.room, chain);
  }

  private async body(id: string, e: RoomEvent): Promise<WebhookEvent> {
    const capacity = await this.capacityOf(e);
    const members = 'members' in e ? e.members : e.type === 'room.started' ? 1 : e.type === 'room.ready' ? 2 : 0;
    const body: WebhookEvent = { id, type: e.type, createdAt: new Date(e.at).toISOString(), node: this.o.node, room: { id: e.room, capacity, members } };
    if ('member' in e) {
      const m = e.member;
      body.member = { id: m.id, ...(m.name === undefined ? {} : { name: m.name }), ...(m.meta === undefined ? {} : { meta: { ...m.meta } }) };
    }
    if (e.type === 'member.left') body.reason = e.reason;
    return body;
  }

  /** The room's capacity: remembered from an earlier event, else read once (0 when the room is gone). */
  private async capacityOf(e: RoomEvent): Promise<number> {
    let capacity = this.capacities.get(e.room);
    if (capacity === undefined && e.type !== 'room.finished') {
      capacity = await this.o.capacity(e.room).catch(() => undefined);
      if (capacity !== undefined) {
        if (this.capacities.size >= CAPACITY_CACHE) this.capacities.delete(this.capacities.keys().next().value!);
        this.capacities.set(e.room, capacity);
      }
    }
    if (e.type === 'room.finished') this.capacities.delete(e.room);
    return capacity ?? 0;
  }
}
