/**
 * Webhook delivery counters in /metrics: one counter, labelled by receiver (its URL without
 * credentials or query, WebhookDelivery.target) and outcome (WebhookOutcome).
 */
import { Counter, type Registry } from 'prom-client';
import type { WebhookOutcome } from './delivery.js';

/** The counters of webhook deliveries. */
export class WebhookMetrics {
  private readonly events: Counter<'receiver' | 'outcome'>;

  constructor(registry?: Registry) {
    this.events = new Counter({
      name: 'sigctl_webhook_events_total',
      help: 'Webhook events by receiver and outcome (delivered, retried = one failed attempt, dropped-queue-full, dropped-gave-up, dropped-refused, dropped-closed).',
      labelNames: ['receiver', 'outcome'],
      registers: registry === undefined ? [] : [registry],
    });
  }

  count(receiver: string, outcome: WebhookOutcome): void {
    this.events.inc({ receiver, outcome });
  }
}
