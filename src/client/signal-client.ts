/**
 * The signaling client for protocol v1: connect, join, signal, meta, leave, typed events for every
 * server message, request/response correlation by `id`/`re`, and reconnect with resume. The state
 * machine and its invariants are documented in ./state.ts.
 */
import WebSocket from 'ws';
import type { ClientOptions as WsClientOptions } from 'ws';
import { FATAL_CODES, isSigctlError, SigctlError } from '../protocol/errors.js';
import {
  ServerMessage,
  type ByeMessage,
  type ClientMessage,
  type JoinedMessage,
  type LeftMessage,
  type Meta,
  type MessageId,
  type PeerJoinedMessage,
  type PeerLeftMessage,
  type PeerUpdatedMessage,
  type PongMessage,
  type ReadyMessage,
  type ServerSignalMessage,
  type SignalMessage,
  type WelcomeMessage,
} from '../protocol/messages.js';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../protocol/version.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { errorFromFrame, errorFromUpgradeStatus, redactUrl } from './errors.js';
import { canTransition, NON_RETRYABLE_CLOSE_CODES, type ClientState } from './state.js';
import { TypedEmitter } from './typed-emitter.js';

/** The pino-compatible subset of a logger the client uses. Tokens are never passed to it. */
export interface ClientLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SignalClientOptions {
  /** ws:// or wss:// URL of the server's WebSocket path, e.g. ws://127.0.0.1:8080/ws. */
  url: string;
  /** Bearer token (JWT) when the server requires auth. */
  token?: string | undefined;
  /** Where the token goes: an `Authorization: Bearer` header (Node, default) or `?token=` (as browsers must). */
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
  /** Extra options for the ws client (e.g. `ca` for a self-signed wss server). */
  wsOptions?: Pick<WsClientOptions, 'ca' | 'rejectUnauthorized'> | undefined;
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

interface Pending {
  expect: ReadonlySet<string>;
  resolve: (msg: ServerMessage) => void;
  reject: (err: SigctlError) => void;
  timer: TimerHandle;
  /** Error codes that are informational for this request (emitted as events; the request keeps waiting). */
  tolerate: ReadonlySet<string>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Heartbeat watchdog: the server pings every heartbeatMs and closes after two misses; we allow a little more. */
const HEARTBEAT_GRACE_FACTOR = 2.5;

/** A protocol v1 signaling client. Create one per connection; `closed` is terminal. */
export class SignalClient extends TypedEmitter<SignalClientEvents> {
  private readonly options: SignalClientOptions;
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private currentState: ClientState = 'idle';
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<MessageId, Pending>();
  private lastWelcome: WelcomeMessage | undefined;
  /** What to re-join with after a reconnect; cleared by leave(). */
  private membership: { params: JoinParams; joined: JoinedMessage } | undefined;
  private attempt = 0;
  private reconnectTimer: TimerHandle;
  private watchdog: TimerHandle;
  private byeDelayMs: number | undefined;
  private closedPromise: Promise<void> | undefined;
  private terminalError: SigctlError | undefined;

  constructor(options: SignalClientOptions) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.backoff = options.reconnect === false ? { ...DEFAULT_BACKOFF, maxAttempts: 0 } : { ...DEFAULT_BACKOFF, ...options.reconnect };
    this.random = options.random ?? Math.random;
  }

  /** The current state (see ./state.ts). */
  get state(): ClientState {
    return this.currentState;
  }

  /** The last `welcome` (ICE servers, heartbeat); undefined before the first connect. */
  get welcome(): WelcomeMessage | undefined {
    return this.lastWelcome;
  }

  /** The current membership's `joined`, or undefined when not in a room. */
  get joined(): JoinedMessage | undefined {
    return this.membership?.joined;
  }

  /** The error that ended the client, if it ended by failure. */
  get error(): SigctlError | undefined {
    return this.terminalError;
  }

  /** Opens the socket and waits for `welcome`. Rejects with SERVER_UNREACHABLE, UNAUTHORIZED, TIMEOUT, ... */
  async connect(): Promise<WelcomeMessage> {
    if (this.currentState !== 'idle') throw new SigctlError('USAGE', `connect() called in state ${this.currentState}`);
    this.transition('connecting');
    try {
      return await this.openSocket();
    } catch (err) {
      const error = toSigctl(err);
      this.finish(error);
      throw error;
    }
  }

  /** Joins a room; resolves with `joined` (ROOM_FULL, BAD_ROOM, FORBIDDEN, ... reject). */
  async join(params: JoinParams): Promise<JoinedMessage> {
    if (this.currentState !== 'connected') throw new SigctlError(this.currentState === 'joined' ? 'ALREADY_JOINED' : 'USAGE', `join() in state ${this.currentState}`);
    const joined = await this.sendJoin(params, undefined);
    this.membership = { params, joined };
    this.transition('joined');
    this.emit('joined', joined);
    return joined;
  }

  /** Relays `data` to one member (`to`) or to every other member. Server errors (UNKNOWN_PEER) arrive as 'error' events. */
  signal(data: SignalMessage['data'], to?: string): void {
    this.send({ type: 'signal', id: this.allocateId(), data, ...(to === undefined ? {} : { to }) });
  }

  /** Replaces this member's metadata; resolves with the broadcast `peer-updated`. */
  async meta(meta: Meta): Promise<PeerUpdatedMessage> {
    const reply = await this.request({ type: 'meta', id: this.allocateId(), meta }, ['peer-updated']);
    return reply as PeerUpdatedMessage;
  }

  /** Application-level ping; resolves with the round-trip time in ms. */
  async ping(): Promise<number> {
    const t0 = this.clock.now();
    const reply = (await this.request({ type: 'ping', id: this.allocateId(), ts: Date.now() }, ['pong'])) as PongMessage;
    void reply;
    return this.clock.now() - t0;
  }

  /** Leaves the room deliberately: other members see reason `leave`; nothing is resumed later. */
  async leave(): Promise<void> {
    if (this.currentState !== 'joined') return;
    const membership = this.membership;
    // Cleared before the reply: a drop while leaving must not resume a membership we are giving up.
    this.membership = undefined;
    try {
      (await this.request({ type: 'leave', id: this.allocateId() }, ['left'])) as LeftMessage;
    } catch (err) {
      if (this.currentState !== 'joined') return; // the socket went away: leaving is moot
      this.membership = membership;
      throw err;
    }
    if (this.currentState === 'joined') this.transition('connected');
  }

  /**
   * Closes deliberately and for good (idempotent): sends `leave` when joined, closes the socket with
   * 1000, rejects pending requests, cancels any reconnect. Resolves when the socket is closed.
   */
  close(): Promise<void> {
    if (this.closedPromise !== undefined) return this.closedPromise;
    const ws = this.ws;
    if (ws !== undefined && ws.readyState === WebSocket.OPEN && this.currentState === 'joined') {
      try {
        ws.send(JSON.stringify({ type: 'leave' }));
      } catch {
        // the socket is going anyway
      }
    }
    this.finish(undefined);
    this.closedPromise = ws === undefined ? Promise.resolve() : closeSocket(ws, this.clock);
    return this.closedPromise;
  }

  // ---- internals ----------------------------------------------------------------------------------

  private transition(to: ClientState): void {
    const from = this.currentState;
    if (from === to) return;
    if (!canTransition(from, to)) throw new SigctlError('INTERNAL', `signal client: illegal transition ${from} -> ${to}`);
    this.currentState = to;
    this.emit('state', to, from);
  }

  /** State check that TypeScript does not narrow across awaits. */
  private isIn(state: ClientState): boolean {
    return this.currentState === state;
  }

  private allocateId(): number {
    return this.nextId++;
  }

  private socketUrl(): string {
    if (this.options.token === undefined || this.options.tokenIn !== 'query') return this.options.url;
    const u = new URL(this.options.url);
    u.searchParams.set('token', this.options.token);
    return u.toString();
  }

  /** Opens a socket; resolves on `welcome`. The socket becomes current at once. */
  private openSocket(): Promise<WelcomeMessage> {
    const url = redactUrl(this.options.url);
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined && this.options.tokenIn !== 'query') headers.Authorization = `Bearer ${this.options.token}`;
    return new Promise<WelcomeMessage>((resolve, reject) => {
      let settled = false;
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.socketUrl(), [SUBPROTOCOL], { ...this.options.wsOptions, headers, handshakeTimeout: timeoutMs, maxPayload: 1024 * 1024 });
      } catch (err) {
        reject(new SigctlError('SERVER_UNREACHABLE', `cannot connect to ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
        return;
      }
      this.ws = ws;
      const fail = (error: SigctlError): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        if (this.ws === ws) this.ws = undefined;
        if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
        reject(error);
      };
      const timer = this.clock.setTimeout(() => {
        ws.terminate();
        fail(new SigctlError('TIMEOUT', `no welcome from ${url} within ${timeoutMs} ms`, { details: { url } }));
      }, timeoutMs);
      ws.on('unexpected-response', (req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        req.destroy();
        fail(errorFromUpgradeStatus(status, url));
      });
      ws.on('error', (err) => {
        if (!settled) fail(new SigctlError('SERVER_UNREACHABLE', `cannot connect to ${url}: ${err.message}`, { cause: err, details: { url } }));
        else this.options.logger?.debug({ err: err.message }, 'signal socket error');
      });
      ws.on('close', (code, reasonBuf) => {
        const reason = reasonBuf.toString();
        if (!settled) {
          fail(new SigctlError('SERVER_UNREACHABLE', `${url} closed the connection before welcome (${code}${reason === '' ? '' : ` ${reason}`})`, { details: { url, code } }));
          return;
        }
        this.onSocketGone(ws, code, reason);
      });
      ws.on('ping', () => this.feedWatchdog(ws));
      ws.on('message', (raw, isBinary) => {
        this.feedWatchdog(ws);
        const msg = this.parse(raw, isBinary);
        if (msg === undefined) return;
        if (!settled) {
          if (msg.type !== 'welcome') {
            if (msg.type === 'error') fail(errorFromFrame(msg));
            return;
          }
          if (msg.protocol !== PROTOCOL_VERSION) {
            ws.terminate();
            fail(new SigctlError('PROTOCOL_MISMATCH', `server speaks protocol ${msg.protocol}, this client ${PROTOCOL_VERSION}`));
            return;
          }
          settled = true;
          this.clock.clearTimeout(timer);
          this.lastWelcome = msg;
          this.byeDelayMs = undefined;
          this.transition('connected');
          this.feedWatchdog(ws);
          this.emit('welcome', msg);
          resolve(msg);
          return;
        }
        this.dispatch(msg);
      });
    });
  }

  private parse(raw: WebSocket.RawData, isBinary: boolean): ServerMessage | undefined {
    if (isBinary) {
      this.emit('error', new SigctlError('BAD_MESSAGE', 'the server sent a binary frame; protocol v1 is text only'));
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(rawToString(raw));
    } catch {
      this.emit('error', new SigctlError('BAD_MESSAGE', 'the server sent a frame that is not JSON'));
      return undefined;
    }
    const parsed = ServerMessage.safeParse(json);
    if (!parsed.success) {
      const type = typeof json === 'object' && json !== null && 'type' in json ? String(json.type) : '?';
      this.emit('error', new SigctlError('BAD_MESSAGE', `invalid ${type} frame from the server: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
      return undefined;
    }
    return parsed.data;
  }

  private dispatch(msg: ServerMessage): void {
    const re = 're' in msg ? msg.re : undefined;
    if (re !== undefined) {
      const p = this.pending.get(re);
      if (p !== undefined) {
        if (msg.type === 'error') {
          const err = errorFromFrame(msg);
          if (p.tolerate.has(msg.code)) {
            this.emit('error', err);
            return;
          }
          this.settle(re);
          p.reject(err);
          return;
        }
        if (p.expect.has(msg.type)) {
          this.settle(re);
          p.resolve(msg);
          // A reply may also be an event for everyone (peer-updated); fall through to emit it.
          if (msg.type === 'joined' || msg.type === 'left' || msg.type === 'pong') return;
        }
      }
    }
    switch (msg.type) {
      case 'error': {
        const err = errorFromFrame(msg);
        if (FATAL_CODES.has(err.code)) {
          this.finish(err);
          this.ws?.close(1000);
          return;
        }
        this.emit('error', err);
        return;
      }
      case 'bye':
        this.byeDelayMs = msg.reconnectMs;
        this.emit('bye', msg);
        return;
      case 'peer-joined':
        this.emit('peer-joined', msg);
        return;
      case 'peer-left':
        this.emit('peer-left', msg);
        return;
      case 'peer-updated':
        this.emit('peer-updated', msg);
        return;
      case 'ready':
        this.emit('ready', msg);
        return;
      case 'signal':
        this.emit('signal', msg);
        return;
      case 'welcome':
      case 'joined':
      case 'left':
      case 'pong':
        // Unsolicited duplicates: nothing to do.
        return;
    }
  }

  private settle(id: MessageId): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.clock.clearTimeout(p.timer);
    this.pending.delete(id);
  }

  private send(msg: ClientMessage): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
      throw new SigctlError('CONNECTION_LOST', `cannot send ${msg.type}: not connected (state ${this.currentState})`);
    }
    ws.send(JSON.stringify(msg));
  }

  private request(msg: ClientMessage & { id: MessageId }, expect: readonly string[], tolerate: readonly string[] = []): Promise<ServerMessage> {
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(msg.id);
        reject(new SigctlError('TIMEOUT', `no reply to ${msg.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(msg.id, { expect: new Set(expect), resolve, reject, timer, tolerate: new Set(tolerate) });
      try {
        this.send(msg);
      } catch (err) {
        this.settle(msg.id);
        reject(toSigctl(err));
      }
    });
  }

  private async sendJoin(params: JoinParams, resume: string | undefined): Promise<JoinedMessage> {
    const msg: ClientMessage & { id: MessageId } = {
      type: 'join',
      id: this.allocateId(),
      room: params.room,
      ...(params.name === undefined ? {} : { name: params.name }),
      ...(params.meta === undefined ? {} : { meta: params.meta }),
      ...(params.capacity === undefined ? {} : { capacity: params.capacity }),
      ...(resume === undefined ? {} : { resume }),
    };
    // RESUME_FAILED is informational: the server joins us as a new member and a `joined` follows.
    return (await this.request(msg, ['joined'], resume === undefined ? [] : ['RESUME_FAILED'])) as JoinedMessage;
  }

  private rejectPending(error: SigctlError): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(error);
    }
  }

  private feedWatchdog(ws: WebSocket): void {
    if (ws !== this.ws || this.lastWelcome === undefined) return;
    if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
    const limit = Math.round(this.lastWelcome.heartbeatMs * HEARTBEAT_GRACE_FACTOR);
    this.watchdog = this.clock.setTimeout(() => {
      this.watchdog = undefined;
      if (ws !== this.ws) return;
      this.options.logger?.warn({ limitMs: limit }, 'no traffic from the signaling server; reconnecting');
      ws.terminate();
      // terminate() emits 'close' (1006) which lands in onSocketGone.
    }, limit);
  }

  private clearWatchdog(): void {
    if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  /** An established socket closed. Decides between reconnecting and finishing. */
  private onSocketGone(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.clearWatchdog();
    const cause = new SigctlError('CONNECTION_LOST', `signaling connection closed (${code}${reason === '' ? '' : ` ${reason}`})`, { details: { code } });
    this.rejectPending(cause);
    if (this.currentState === 'closed') return;
    // Reconnecting exists to keep a membership: with none (never joined, or after leave()) there
    // is nothing to resume, and a deliberate leave must never lead to a reconnect.
    if (NON_RETRYABLE_CLOSE_CODES.has(code) || this.membership === undefined) {
      this.finish(cause);
      return;
    }
    this.scheduleReconnect(cause);
  }

  private scheduleReconnect(cause: SigctlError): void {
    if (this.attempt >= this.backoff.maxAttempts) {
      const message = this.backoff.maxAttempts === 0 ? cause.message : `gave up reconnecting after ${this.attempt} attempts: ${cause.message}`;
      this.finish(new SigctlError(cause.code === 'CONNECTION_LOST' || cause.code === 'SERVER_UNREACHABLE' ? 'CONNECTION_LOST' : cause.code, message, { cause }));
      return;
    }
    const delayMs = this.attempt === 0 && this.byeDelayMs !== undefined ? this.byeDelayMs : backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.transition('reconnecting');
    this.options.logger?.debug({ attempt: this.attempt, delayMs, code: cause.code }, 'reconnecting');
    this.emit('reconnecting', { attempt: this.attempt, delayMs, cause });
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delayMs);
  }

  private async reconnect(): Promise<void> {
    if (this.currentState !== 'reconnecting') return;
    this.transition('connecting');
    try {
      await this.openSocket();
      const membership = this.membership;
      if (membership !== undefined) {
        const previousId = membership.joined.self.id;
        const joined = await this.sendJoin(membership.params, membership.joined.resumeToken);
        if (!this.isIn('connected')) return;
        this.membership = { params: membership.params, joined };
        this.transition('joined');
        this.emit(joined.self.id === previousId ? 'resumed' : 'rejoined', joined);
      }
      this.attempt = 0;
    } catch (err) {
      const error = toSigctl(err);
      // Closed meanwhile, or the socket dropped mid-join and onSocketGone already scheduled a retry.
      if (this.isIn('closed') || this.isIn('reconnecting')) return;
      if (FATAL_CODES.has(error.code) || error.code === 'ROOM_FULL' || error.code === 'BAD_ROOM') {
        this.finish(error);
        this.ws?.terminate();
        return;
      }
      if (this.ws !== undefined) {
        // welcome came but the join failed (timeout): drop this socket and retry.
        const ws = this.ws;
        this.ws = undefined;
        this.clearWatchdog();
        ws.terminate();
      }
      this.scheduleReconnect(error);
    }
  }

  /** Enters `closed` (once): cancels timers, rejects pending requests, emits `closed`. */
  private finish(error: SigctlError | undefined): void {
    if (this.currentState === 'closed') return;
    this.terminalError = error;
    if (this.reconnectTimer !== undefined) this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.clearWatchdog();
    this.membership = undefined;
    this.transition('closed');
    this.rejectPending(error ?? new SigctlError('ABORTED', 'the signaling client was closed'));
    this.emit('closed', { error });
  }
}

function toSigctl(err: unknown): SigctlError {
  if (isSigctlError(err)) return err;
  return new SigctlError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
}

function rawToString(raw: WebSocket.RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

/** Closes a socket with 1000 and resolves when it is closed (terminating after 2 s). */
function closeSocket(ws: WebSocket, clock: Clock): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      ws.terminate();
      resolve();
    }, 2_000);
    ws.once('close', () => {
      clock.clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  });
}
