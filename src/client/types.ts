/** Options and events of the signaling client. */
import type { SigctlError } from '../protocol/errors.js';
import type {
  ByeMessage,
  JoinedMessage,
  Meta,
  PeerJoinedMessage,
  PeerLeftMessage,
  PeerUpdatedMessage,
  ReadyMessage,
  ServerSignalMessage,
  WelcomeMessage,
} from '../protocol/messages.js';
import type { BackoffOptions } from './backoff.js';
import type { Clock } from './clock.js';
import type { ClientState } from './state.js';

/** The pino-compatible subset of a logger the client uses. Tokens are never passed to it. */
export interface ClientLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of the client on any transport (the Node client adds `wsOptions`). */
export interface SignalClientCoreOptions {
  /** ws:// or wss:// URL of the server's WebSocket path, e.g. ws://127.0.0.1:8080/ws. */
  url: string;
  /** Bearer token (JWT) when the server requires auth. */
  token?: string | undefined;
  /** Where the token goes: an `Authorization: Bearer` header (Node, default) or `?token=` (always so in browsers). */
  tokenIn?: 'query' | 'header' | undefined;
  /** Limit for the TCP/TLS/upgrade handshake plus the `welcome` frame (ms, default 10000). */
  connectTimeoutMs?: number | undefined;
  /** Limit for a reply to join/leave/meta/ping (ms, default 10000). */
  requestTimeoutMs?: number | undefined;
  /** Reconnect backoff; `false` disables reconnecting. */
  reconnect?: Partial<BackoffOptions> | false | undefined;
  /** Jitter source in [0, 1) (tests inject a fixed one). */
  random?: (() => number) | undefined;
  clock?: Clock | undefined;
  logger?: ClientLogger | undefined;
}

/** What join() sends. */
export interface JoinParams {
  room: string;
  name?: string | undefined;
  meta?: Meta | undefined;
  /** Capacity to ask for when this join creates the room (mesh rooms). */
  capacity?: number | undefined;
}

/** Every event a SignalClient emits, with its arguments. */
export type SignalClientEvents = {
  /** Every state change (see ./state.ts). */
  state: [to: ClientState, from: ClientState];
  /** The server's greeting on each (re)connect: ICE servers and heartbeat. */
  welcome: [WelcomeMessage];
  /** A join() succeeded (first join or a later one). */
  joined: [JoinedMessage];
  /** After a reconnect, the resume worked: same member id, queued signals follow. */
  resumed: [JoinedMessage];
  /** After a reconnect, the resume failed and the client joined again with a new id: peers must be renegotiated. */
  rejoined: [JoinedMessage];
  'peer-joined': [PeerJoinedMessage];
  'peer-left': [PeerLeftMessage];
  'peer-updated': [PeerUpdatedMessage];
  ready: [ReadyMessage];
  signal: [ServerSignalMessage];
  /** The server is shutting down; the client reconnects after `reconnectMs`. */
  bye: [ByeMessage];
  /** The connection dropped unexpectedly and a retry is scheduled. */
  reconnecting: [{ attempt: number; delayMs: number; cause: SigctlError }];
  /** A non-fatal problem: an error frame not answering a request, an invalid frame. */
  error: [SigctlError];
  /** Terminal: the client is closed (error set when it ended by failure, not by close()). */
  closed: [{ error: SigctlError | undefined }];
};
