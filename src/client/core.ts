/**
 * The signaling client for protocol v1: connect, join, signal, meta, leave, typed events for every
 * server message, request/response correlation by `id`/`re`, and reconnect with resume. The state
 * machine and its invariants are documented in ./state.ts; one socket's handshake and frames are
 * ./socket.ts, reply matching ./requests.ts, the silent-server watchdog ./watchdog.ts. The socket
 * comes from a transport (./transport.ts), so this same code is the Node client
 * (./signal-client.ts, on `ws`) and the browser client (./browser.ts, on the global WebSocket).
 */
import { FATAL_CODES, isSigctlError, SigctlError } from '../protocol/errors.js';
import type {
  ClientMessage,
  JoinedMessage,
  LeftMessage,
  Meta,
  MessageId,
  PeerUpdatedMessage,
  PongMessage,
  ServerMessage,
  SignalMessage,
  WelcomeMessage,
} from '../protocol/messages.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { errorFromFrame } from './errors.js';
import { PendingRequests } from './requests.js';
import { openSocket } from './socket.js';
import { canTransition, NON_RETRYABLE_CLOSE_CODES, type ClientState } from './state.js';
import { TypedEmitter } from './typed-emitter.js';
import { HeartbeatWatchdog } from './watchdog.js';
import type { Transport, TransportSocket } from './transport.js';
import type { JoinParams, SignalClientCoreOptions, SignalClientEvents } from './types.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * A protocol v1 signaling client over a given transport. Create one per connection; `closed` is
 * terminal. Use SignalClient (Node) or the browser build's SignalClient rather than this class.
 */
export class SignalClientCore extends TypedEmitter<SignalClientEvents> {
  private readonly options: SignalClientCoreOptions;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private currentState: ClientState = 'idle';
  private ws: TransportSocket | undefined;
  /** Drops a socket the server has gone quiet on (./watchdog.ts). */
  private readonly watchdog: HeartbeatWatchdog;
  private nextId = 1;
  private readonly pending: PendingRequests;
  private lastWelcome: WelcomeMessage | undefined;
  /** What to re-join with after a reconnect; cleared by leave(). */
  private membership: { params: JoinParams; joined: JoinedMessage } | undefined;
  private attempt = 0;
  private reconnectTimer: TimerHandle;
  private byeDelayMs: number | undefined;
  private closedPromise: Promise<void> | undefined;
  private terminalError: SigctlError | undefined;

  constructor(options: SignalClientCoreOptions, transport: Transport) {
    super();
    this.options = options;
    this.transport = transport;
    this.clock = options.clock ?? systemClock;
    this.backoff = options.reconnect === false ? { ...DEFAULT_BACKOFF, maxAttempts: 0 } : { ...DEFAULT_BACKOFF, ...options.reconnect };
    this.random = options.random ?? Math.random;
    this.pending = new PendingRequests(this.clock);
    this.watchdog = new HeartbeatWatchdog(this.clock, transport.seesPings, {
      current: () => this.ws,
      silent: (ws, limitMs) => {
        this.options.logger?.warn({ limitMs }, 'no traffic from the signaling server; reconnecting');
        ws.terminate(); // emits 'close' (1006), which lands in onSocketGone
      },
    });
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
    if (ws?.isOpen === true && this.currentState === 'joined') {
      try {
        ws.send(JSON.stringify({ type: 'leave' }));
      } catch {
        // the socket is going anyway
      }
    }
    this.finish(undefined);
    this.closedPromise = ws === undefined ? Promise.resolve() : ws.close();
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

  /** Opens a socket (./socket.ts); resolves on `welcome`. The socket becomes current at once. */
  private openSocket(): Promise<WelcomeMessage> {
    const { ws, ready } = openSocket(
      {
        url: this.options.url,
        token: this.options.token,
        tokenIn: this.options.tokenIn,
        timeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        clock: this.clock,
        transport: this.transport,
      },
      {
        welcome: (socket, msg) => {
          this.lastWelcome = msg;
          this.byeDelayMs = undefined;
          this.transition('connected');
          this.feedWatchdog(socket);
          this.emit('welcome', msg);
        },
        frame: (_socket, msg) => this.dispatch(msg),
        invalid: (err) => this.emit('error', err),
        activity: (socket) => this.feedWatchdog(socket),
        closed: (socket, code, reason) => this.onSocketGone(socket, code, reason),
        error: (err) => this.options.logger?.debug({ err: err.message }, 'signal socket error'),
      },
    );
    this.ws = ws;
    return ready.catch((err: unknown) => {
      if (ws !== undefined && this.ws === ws) this.ws = undefined;
      throw err;
    });
  }

  private dispatch(msg: ServerMessage): void {
    const matched = this.pending.match(msg);
    if (matched.kind === 'tolerated') {
      this.emit('error', matched.error);
      return;
    }
    if (matched.kind === 'settled' && !matched.alsoEvent) return;
    switch (msg.type) {
      case 'error': {
        const err = errorFromFrame(msg);
        if (FATAL_CODES.has(err.code)) {
          this.finish(err);
          void this.ws?.close();
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

  private send(msg: ClientMessage): void {
    const ws = this.ws;
    if (ws?.isOpen !== true) {
      throw new SigctlError('CONNECTION_LOST', `cannot send ${msg.type}: not connected (state ${this.currentState})`);
    }
    ws.send(JSON.stringify(msg));
  }

  private request(msg: ClientMessage & { id: MessageId }, expect: readonly string[], tolerate: readonly string[] = []): Promise<ServerMessage> {
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return this.pending.add(msg.id, msg.type, { expect, tolerate, timeoutMs }, () => this.send(msg));
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

  private feedWatchdog(ws: TransportSocket): void {
    if (ws !== this.ws || this.lastWelcome === undefined) return;
    this.watchdog.feed(ws, this.lastWelcome.heartbeatMs);
  }

  /** An established socket closed. Decides between reconnecting and finishing. */
  private onSocketGone(ws: TransportSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.watchdog.stop();
    const cause = new SigctlError('CONNECTION_LOST', `signaling connection closed (${code}${reason === '' ? '' : ` ${reason}`})`, { details: { code } });
    this.pending.rejectAll(cause);
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
        this.watchdog.stop();
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
    this.watchdog.stop();
    this.membership = undefined;
    this.transition('closed');
    this.pending.rejectAll(error ?? new SigctlError('ABORTED', 'the signaling client was closed'));
    this.emit('closed', { error });
  }
}

function toSigctl(err: unknown): SigctlError {
  if (isSigctlError(err)) return err;
  return new SigctlError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
}
