/**
 * The public shape of a server: what `startServer` (./index.ts) is built from and what it returns.
 */
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/principal.js';
import type { Store } from '../store/store.js';
import type { RoomEventSink } from './room-events.js';

/** What the server is built from; every field is optional. */
export interface ServerDeps {
  /** Structured logger; default: no logging (the CLI passes a stderr logger). */
  logger?: Logger;
  /** Room store; default: a new MemoryStore, closed with the server. A given store is not closed. */
  store?: Store;
  /** Verifies upgrades and /v1/ice-servers; default: allowAll. */
  authenticator?: Authenticator;
  /** Browser origin check; default: createOriginCheck(config.origins) from src/auth/origins.ts. */
  checkOrigin?: (origin: string | undefined) => boolean;
  /** Clock in unix ms (resume expiry, TURN credentials, rate limits). */
  now?: () => number;
  /** Adds prom-client's process metrics (CPU, memory, event-loop lag, GC) to /metrics; the CLI does. */
  processMetrics?: boolean;
  /** Receives room and member facts (src/server/room-events.ts), each once across a cluster. */
  events?: RoomEventSink;
}

/** A running server. */
export interface SignalingServer {
  /** WebSocket URL, e.g. ws://127.0.0.1:8080/ws. */
  readonly url: string;
  /** HTTP base URL, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  readonly port: number;
  readonly host: string;
  readonly draining: boolean;
  /** UDP port of the built-in STUN responder, when `config.stunPort` is set. */
  readonly stunPort: number | undefined;
  /** URL of the browser app (docs/web.md), when `web.enabled` and the app is built. */
  readonly webUrl: string | undefined;
  /** Graceful shutdown: readyz 503, upgrades refused, `bye` to everyone, close 1001 after `config.drainMs`. */
  drain(): Promise<void>;
  /** Immediate shutdown: terminates every socket and stops listening. Idempotent. */
  close(): Promise<void>;
  /** The Prometheus text of this server (what GET /metrics returns). */
  metrics(): Promise<string>;
  /** Removes a member on the operator's behalf (KICKED, close 4014), wherever in the cluster it is held. */
  kick(room: string, memberId: string): Promise<'kicked' | 'not-found'>;
  /** Kicks every member of a room; resolves with how many were removed. */
  closeRoom(room: string): Promise<number>;
}
