/**
 * The one thing the signaling client needs from a WebSocket, so that the same client (./core.ts)
 * runs on Node's `ws` (./transport-ws.ts: headers, TLS options, the body of a refused upgrade) and
 * on a browser's global WebSocket (./transport-browser.ts). A transport knows nothing of the
 * protocol: it moves text frames and reports how the socket ended.
 */
import type { SigctlError } from '../protocol/errors.js';
import type { Clock } from './clock.js';

/** What a transport is asked to open. */
export interface TransportOpenOptions {
  /** The URL to connect to (the token already in it when it travels as `?token=`). */
  url: string;
  protocols: string[];
  /** Request headers (`Authorization`); a transport that cannot send headers gets none. */
  headers: Record<string, string>;
  /** Upgrade handshake limit (ms). */
  timeoutMs: number;
  /** Largest frame accepted. */
  maxPayloadBytes: number;
  /** The URL with credentials removed, for messages. */
  redactedUrl: string;
  clock: Clock;
}

/** What the owner hears from a transport socket; at most one `close` per socket. */
export interface TransportHandlers {
  /** A text frame. */
  text(data: string): void;
  /** A binary frame (protocol v1 is text only). */
  binary(): void;
  /** A WebSocket ping from the server (only transports with `seesPings`). */
  ping(): void;
  /** The server answered the upgrade with an HTTP status: the coded error, with its JSON reason. */
  refused(error: SigctlError): void;
  error(err: Error): void;
  close(code: number, reason: string): void;
}

/** One open(ing) socket. */
export interface TransportSocket {
  readonly isOpen: boolean;
  readonly isClosed: boolean;
  send(text: string): void;
  /** Closes with 1000; resolves when closed (terminating after 2 s). */
  close(): Promise<void>;
  /** Drops the socket now; `close` (1006) follows. */
  terminate(): void;
}

/** A way of opening sockets. Throws synchronously when the URL cannot be used at all. */
export interface Transport {
  /** Whether the server's WebSocket pings are visible (browsers answer them silently). */
  readonly seesPings: boolean;
  /** Whether request headers can be sent (browsers cannot: the token must go in the query). */
  readonly sendsHeaders: boolean;
  open(options: TransportOpenOptions, on: TransportHandlers): TransportSocket;
}
