/**
 * An unmodified @stomp/stompjs 7 client for tests, on `ws` (Node 20 has no global WebSocket),
 * subscribed to the four destinations of a Spring-style signaling app, with every wait bounded.
 */
import { Client, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { within } from './server-harness.js';

export interface Received {
  destination: string;
  body: string;
  headers: Record<string, string>;
}

export class StompPeer {
  readonly messages: Received[] = [];
  readonly errors: Array<{ message: string | undefined; body: string }> = [];
  ws: WebSocket | undefined;
  closed: Promise<{ code: number; reason: string }>;
  private closedResolve: (v: { code: number; reason: string }) => void = () => undefined;
  private waiters: Array<() => void> = [];
  private readonly listeners = new Map<string, (body: unknown, m: Received) => void>();
  private readonly client: Client;

  constructor(url: string, connectHeaders: Record<string, string> = {}, options: { heartbeatMs?: number; protocols?: string[] } = {}) {
    this.closed = new Promise((resolve) => (this.closedResolve = resolve));
    this.client = new Client({
      webSocketFactory: () => {
        this.ws = new WebSocket(url, options.protocols ?? ['v12.stomp', 'v11.stomp', 'v10.stomp']);
        this.ws.on('close', (code, reason) => {
          this.closedResolve({ code, reason: reason.toString() });
          this.wake();
        });
        this.ws.on('error', () => undefined);
        return this.ws;
      },
      connectHeaders,
      reconnectDelay: 0,
      heartbeatIncoming: options.heartbeatMs ?? 0,
      heartbeatOutgoing: options.heartbeatMs ?? 0,
      debug: () => undefined,
      onStompError: (frame) => {
        this.errors.push({ message: frame.headers.message, body: frame.body });
        this.wake();
      },
    });
  }

  /** Activates the client and waits for CONNECTED (or rejects with the ERROR it got). */
  async connect(timeoutMs = 5000): Promise<void> {
    await within(
      new Promise<void>((resolve, reject) => {
        this.client.onConnect = () => resolve();
        this.client.onWebSocketClose = () => reject(new Error(`closed before CONNECTED: ${JSON.stringify(this.errors)}`));
        this.client.activate();
      }),
      timeoutMs,
      'STOMP CONNECTED',
    );
  }

  /** Subscribes to the Spring app's destinations for `room`. */
  subscribeAll(room: string): void {
    for (const destination of ['/user/queue/me', '/user/queue/system', `/topic/rooms/${room}/members`, `/topic/rooms/${room}/signal`]) this.subscribe(destination);
  }

  subscribe(destination: string): void {
    this.client.subscribe(destination, (m: IMessage) => {
      const got = { destination, body: m.body, headers: { ...m.headers } };
      const listener = this.listeners.get(destination);
      if (listener !== undefined) listener(JSON.parse(got.body), got);
      else this.messages.push(got);
      this.wake();
    });
  }

  /** Hands every later message on `destination` to `listener` instead of queueing it. */
  on(destination: string, listener: (body: unknown, m: Received) => void): void {
    this.listeners.set(destination, listener);
  }

  send(destination: string, body: unknown, headers: Record<string, string> = {}): void {
    this.client.publish({ destination, body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  }

  /** Sends with a receipt and waits for the RECEIPT. */
  async sendWithReceipt(destination: string, body: unknown, timeoutMs = 3000): Promise<void> {
    const receipt = `r-${Math.random().toString(36).slice(2)}`;
    const got = new Promise<void>((resolve) => this.client.watchForReceipt(receipt, () => resolve()));
    this.send(destination, body, { receipt });
    await within(got, timeoutMs, `RECEIPT ${receipt}`);
  }

  /** The next message on `destination` (matching `match`), removed from the queue. */
  next(destination: string, match: (body: unknown, m: Received) => boolean = () => true, timeoutMs = 3000): Promise<Received> {
    return within(
      new Promise<Received>((resolve) => {
        const check = (): void => {
          const i = this.messages.findIndex((m) => m.destination === destination && match(JSON.parse(m.body), m));
          if (i < 0) return;
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(this.messages.splice(i, 1)[0]!);
        };
        this.waiters.push(check);
        check();
      }),
      timeoutMs,
      `a STOMP message on ${destination} (have: ${JSON.stringify(this.messages).slice(0, 300)})`,
    );
  }

  /** The next `type` on the room's signal topic. */
  async signal(room: string, type: string, timeoutMs = 3000): Promise<{ body: Record<string, unknown>; sid: string | undefined }> {
    const m = await this.next(`/topic/rooms/${room}/signal`, (b) => typeof b === 'object' && b !== null && (b as { type?: unknown }).type === type, timeoutMs);
    return { body: JSON.parse(m.body) as Record<string, unknown>, sid: m.headers.sid };
  }

  /** Count of queued messages on `destination` of `type`. */
  count(destination: string, type?: string): number {
    return this.messages.filter((m) => m.destination === destination && (type === undefined || (JSON.parse(m.body) as { type?: unknown }).type === type)).length;
  }

  waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    return within(this.closed, timeoutMs, 'the STOMP socket to close');
  }

  async close(): Promise<void> {
    await within(this.client.deactivate(), 3000, 'stompjs deactivate').catch(() => this.ws?.terminate());
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
