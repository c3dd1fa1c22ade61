/**
 * Delivery of webhook events to one receiver: at least once, in order per room, never in the way
 * of the relay.
 *
 * Invariants:
 * - `enqueue` is synchronous and O(1): a slow or dead receiver costs the relay nothing but the
 *   bounded queue. When the queue holds `maxQueue` events, a new event is dropped (counted, logged);
 *   the events already queued keep their order.
 * - Per room, at most one request is in flight and events leave in enqueue order; a retrying event
 *   holds back its room's later events (order beats latency), never another room's.
 * - An event is retried on a network error, a timeout, 408, 429 and 5xx, with exponential backoff
 *   and jitter, up to `backoff.maxAttempts` retries; any other status is a refusal and is not retried.
 *   Each attempt is signed afresh (a new `t`), so a retry is never stale at the receiver; the body
 *   and its `id` stay the same, so the receiver can deduplicate.
 * - `close()` aborts what is in flight and drops the rest; `drain()` waits for the queue to empty.
 */
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from '../client/backoff.js';
import { systemClock, type Clock, type TimerHandle } from '../client/clock.js';
import type { WebhookEvent, WebhookEventType } from './event.js';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from './signature.js';

/** One configured receiver. */
export interface WebhookReceiver {
  url: string;
  secret: string;
  /** Only these event types are sent (all when absent). */
  events?: readonly WebhookEventType[] | undefined;
}

/** What happened to one event, for metrics. */
export type WebhookOutcome = 'delivered' | 'retried' | 'dropped-queue-full' | 'dropped-gave-up' | 'dropped-refused' | 'dropped-closed';

export interface WebhookDeliveryOptions {
  receiver: WebhookReceiver;
  /** Most events waiting (all rooms together). */
  maxQueue?: number;
  /** Most rooms with a request in flight at once. */
  concurrency?: number;
  /** Time limit of one request (ms). */
  timeoutMs?: number;
  backoff?: BackoffOptions;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  /** Called once per outcome (a retried attempt, then the final outcome of the event). */
  onOutcome?: (outcome: WebhookOutcome, event: WebhookEvent) => void;
}

/** Defaults: 1 s, 2 s, 4 s, ... capped at 60 s, 10 retries (about 8 minutes in all). */
export const WEBHOOK_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 1000, capMs: 60_000, maxAttempts: 10 });

interface Pending {
  event: WebhookEvent;
  body: string;
  attempt: number;
}

/** The delivery queue of one receiver. */
export class WebhookDelivery {
  private readonly rooms = new Map<string, Pending[]>();
  /** Rooms whose head event is in flight or waiting for its retry timer. */
  private readonly busy = new Set<string>();
  private readonly timers = new Set<TimerHandle>();
  private readonly controllers = new Set<AbortController>();
  private readonly idle = new Set<() => void>();
  private size = 0;
  private inFlight = 0;
  private droppedSinceLog = 0;
  private closed = false;
  private readonly o: Required<Omit<WebhookDeliveryOptions, 'logger' | 'onOutcome'>> & Pick<WebhookDeliveryOptions, 'logger' | 'onOutcome'>;
  /** The receiver's URL without credentials, query or fragment: what logs may show. */
  readonly target: string;

  constructor(options: WebhookDeliveryOptions) {
    this.o = {
      maxQueue: 1000,
      concurrency: 4,
      timeoutMs: 5000,
      backoff: WEBHOOK_BACKOFF,
      clock: systemClock,
      random: Math.random,
      ...options,
    };
    const u = new URL(options.receiver.url);
    this.target = `${u.protocol}//${u.host}${u.pathname}`;
  }

  /** Events waiting or in flight. */
  get queued(): number {
    return this.size;
  }

  /** Queues `event`; false when its type is filtered out, the queue is full, or the delivery is closed. */
  enqueue(event: WebhookEvent): boolean {
    const filter = this.o.receiver.events;
    if (this.closed || (filter !== undefined && !filter.includes(event.type))) return false;
    if (this.size >= this.o.maxQueue) {
      if (this.droppedSinceLog++ === 0) this.o.logger?.warn({ webhook: this.target, queued: this.size }, 'webhook queue full: dropping new events');
      this.o.onOutcome?.('dropped-queue-full', event);
      return false;
    }
    if (this.droppedSinceLog > 0) {
      this.o.logger?.warn({ webhook: this.target, dropped: this.droppedSinceLog }, 'webhook queue accepts events again');
      this.droppedSinceLog = 0;
    }
    const queue = this.rooms.get(event.room.id);
    const pending: Pending = { event, body: JSON.stringify(event), attempt: 0 };
    if (queue === undefined) this.rooms.set(event.room.id, [pending]);
    else queue.push(pending);
    this.size++;
    this.pump();
    return true;
  }

  /** Resolves when nothing is queued, or after `timeoutMs` (then `false`). */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        this.o.clock.clearTimeout(timer);
        this.idle.delete(onIdle);
        resolve(ok);
      };
      const onIdle = (): void => done(true);
      const timer = this.o.clock.setTimeout(() => done(false), timeoutMs);
      this.idle.add(onIdle);
    });
  }

  /** Aborts requests in flight and drops everything queued. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) this.o.clock.clearTimeout(t);
    this.timers.clear();
    for (const c of this.controllers) c.abort();
    for (const queue of this.rooms.values()) for (const p of queue) this.o.onOutcome?.('dropped-closed', p.event);
    this.rooms.clear();
    this.size = 0;
    for (const f of [...this.idle]) f();
  }

  /** Starts a request for every room that has an event and no request, up to the concurrency. */
  private pump(): void {
    if (this.closed) return;
    for (const [room, queue] of this.rooms) {
      if (this.inFlight >= this.o.concurrency) return;
      if (this.busy.has(room) || queue[0] === undefined) continue;
      this.busy.add(room);
      void this.attempt(room, queue[0]);
    }
  }

  private async attempt(room: string, p: Pending): Promise<void> {
    this.inFlight++;
    const verdict = await this.post(p);
    this.inFlight--;
    if (this.closed) return;
    if (verdict === 'retry' && p.attempt < this.o.backoff.maxAttempts) {
      this.o.onOutcome?.('retried', p.event);
      const delay = backoffDelay(p.attempt, this.o.backoff, this.o.random);
      p.attempt++;
      const timer = this.o.clock.setTimeout(() => {
        this.timers.delete(timer);
        this.busy.delete(room);
        this.pump();
      }, delay);
      this.timers.add(timer);
      this.pump();
      return;
    }
    if (verdict === 'retry') {
      this.o.logger?.warn({ webhook: this.target, event: p.event.id, type: p.event.type, attempts: p.attempt + 1 }, 'webhook event dropped after its last retry');
      this.o.onOutcome?.('dropped-gave-up', p.event);
    } else if (verdict === 'refused') {
      this.o.onOutcome?.('dropped-refused', p.event);
    } else {
      this.o.onOutcome?.('delivered', p.event);
    }
    this.finish(room);
  }

  /** Removes the head event of `room` and moves on. */
  private finish(room: string): void {
    const queue = this.rooms.get(room);
    queue?.shift();
    this.size--;
    if (queue !== undefined && queue.length === 0) this.rooms.delete(room);
    this.busy.delete(room);
    if (this.size === 0) for (const f of [...this.idle]) f();
    this.pump();
  }

  private async post(p: Pending): Promise<'ok' | 'retry' | 'refused'> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = this.o.clock.setTimeout(() => controller.abort(), this.o.timeoutMs);
    try {
      const t = Math.floor(Date.now() / 1000);
      const res = await fetch(this.o.receiver.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'sigctl-webhook', [WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.o.receiver.secret, p.body, t) },
        body: p.body,
        signal: controller.signal,
        redirect: 'manual',
      });
      // The body is not used; reading it lets the connection be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return 'ok';
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      if (!retry) this.o.logger?.warn({ webhook: this.target, event: p.event.id, type: p.event.type, status: res.status }, 'webhook receiver refused the event');
      return retry ? 'retry' : 'refused';
    } catch (err) {
      if (!this.closed) this.o.logger?.debug({ webhook: this.target, event: p.event.id, err: err instanceof Error ? err.message : String(err) }, 'webhook attempt failed');
      return 'retry';
    } finally {
      this.o.clock.clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }
}
