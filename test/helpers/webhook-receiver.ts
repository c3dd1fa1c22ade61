/**
 * A real webhook receiver on 127.0.0.1 port 0: verifies every request's signature with
 * verifyWebhook (as a user's receiver would), parses the body with the library's schema, and answers
 * what its handler says (e.g. 503 for the first attempts of every event, or 'hang': no answer until
 * close()). Used by the delivery, dispatcher and ops tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook, WEBHOOK_SIGNATURE_HEADER } from '../../src/webhooks/signature.js';
import { WebhookEvent } from '../../src/webhooks/event.js';
import { within } from './server-harness.js';

export interface Received {
  event: WebhookEvent;
  raw: string;
  /** The signature header as received. */
  signature: string | undefined;
  /** verifyWebhook's verdict on the request as received. */
  verified: boolean;
  /** The status answered; 0 for a request left hanging. */
  status: number;
}

/** What the receiver answers to attempt `attempt` (1-based) of an event: a status, or 'hang' (no answer). */
export type ReceiverHandler = (event: WebhookEvent, attempt: number) => number | 'hang';

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Requests left hanging; destroyed by close(). */
  private readonly hung = new Set<ServerResponse>();
  private readonly attempts = new Map<string, number>();
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly secret: string,
    public handler: ReceiverHandler,
  ) {}

  /** Listens on 127.0.0.1 port 0 at /hooks (plus `query`, e.g. a key that must never be logged). */
  static async start(secret: string, handler: ReceiverHandler = () => 204, query = ''): Promise<WebhookReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const self = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks${query}`, secret, handler);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void self.onRequest(req, res));
    return self;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const header = req.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
    const signature = Array.isArray(header) ? header[0] : header;
    const verified = verifyWebhook({ secret: this.secret, body: raw, header }).ok;
    const event = WebhookEvent.parse(JSON.parse(raw));
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    const answer = verified ? this.handler(event, attempt) : 401;
    this.received.push({ event, raw, signature, verified, status: answer === 'hang' ? 0 : answer });
    if (answer === 'hang') this.hung.add(res);
    else res.writeHead(answer).end();
    for (const w of [...this.waiters]) w();
  }

  /** Events answered 2xx, in arrival order (what a deduplicating receiver keeps). */
  accepted(): WebhookEvent[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.event);
  }

  until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
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
