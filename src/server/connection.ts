/**
 * One WebSocket connection: its identity (session id, principal, address), its membership state,
 * its rate limits and heartbeat bookkeeping, and the only path that writes to its socket (which
 * enforces the send-buffer bound).
 *
 * Its seat's state machine (idle -> joining -> joined -> idle ...; any state -> closed) is defined
 * and enforced in member.ts: `state` changes only through its `transition()`. Control messages
 * (join, leave, meta) run one at a time through `control`; signals run at once.
 *
 * Thousands of these live at once, so a connection keeps little: its child logger is made only
 * when a line is written, the strike counter only on the first strike, the control chain only
 * while a control message runs.
 */
import type { Level, Logger } from 'pino';
import WebSocket from 'ws';
import type { Principal } from '../auth/principal.js';
import type { WireErrorCode } from '../protocol/errors.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { MessageId, ServerMessage } from '../protocol/messages.js';
import { encode, errorFrame, signalPrefix, type Frame } from './frames.js';
import { CONNECTION_LIFECYCLE, transition, type ConnectionState, type EndKind, type LocalRoom, type Outbox } from './member.js';
import type { ServerMetrics } from './metrics.js';
import { StrikeCounter, takeToken, type BucketState } from './rate-limit.js';

/**
 * Why a connection ended (EndKind), which decides what its room sees:
 * - `abnormal`: dropped without a close handshake, heartbeat expiry, server drain -> reserved for resume;
 * - `clean`: the client closed (1000/1001) without `leave` -> peer-left `disconnect` at once;
 * - `kicked`: closed by the server for misbehaving (flood, slow consumer) -> peer-left `disconnect`;
 * - `replaced`: the member resumed on a newer connection -> nothing (the member lives on).
 */
export type { ConnectionState, EndKind } from './member.js';

/** The per-connection limits from `config.limits`. */
export interface ConnectionLimits {
  messagesPerSecond: number;
  burst: number;
  floodStrikes: number;
  sendBufferBytes: number;
}

const STRIKE_WINDOW_MS = 10_000;

/**
 * A protocol other than v1 spoken at a connection's edge (STOMP, the raw relays). The hub only
 * speaks v1: every frame it sends to the connection goes through `deliver`, which writes the
 * protocol's own frames with `Connection.write` (or nothing, for frames the protocol has no use for).
 */
export interface EdgeCodec {
  /** The wire protocol's name, for logs and metrics. */
  readonly protocol: string;
  deliver(frame: Frame): void;
  /** Stops the codec's timers; called once when the connection closes. */
  close(): void;
}

/** Bits of Connection.traffic. */
export const HEARD = 1;
export const SPOKE = 2;

// ws sends a Buffer as binary unless told otherwise; one options object for every send.
const TEXT: { binary: false } = Object.freeze({ binary: false });

/** One client connection and the only writer to its socket. */
export class Connection implements BucketState, Outbox {
  /** Changed only by member.ts's transition() (readonly to everyone else). */
  readonly state: ConnectionState = 'idle';
  /** The joined room (set while joining/joined). */
  room: string | undefined;
  /** The token that lets this member resume. */
  resumeToken: string | undefined;
  /** Heartbeats sent without a pong since the last pong. */
  missedPongs = 0;
  /**
   * Traffic since the last heartbeat tick: HEARD (a frame came in) | SPOKE (a frame went out).
   * Both together spare the connection its ping (see the heartbeat in index.ts).
   */
  traffic = 0;
  /** Set by whoever closes the socket first, read by the close handler. */
  endKind: EndKind | undefined;
  /** Serialises control messages so a leave completes before a following join (unset when idle). */
  control: Promise<void> | undefined;
  /** signalPrefix(memberId) and its UTF-8 length, kept with the id for relayFrame. */
  relayPrefix = '';
  relayPrefixBytes = 0;
  /** The members of `room` as last looked up by the relay (Hub.signal checks it still holds us). */
  roomMembers: LocalRoom | undefined;
  /** The rate limit's token bucket (BucketState), kept here rather than in an object of its own. */
  tokens: number;
  last: number;
  /** Set for a connection that speaks another protocol than v1 (see EdgeCodec). */
  codec: EdgeCodec | undefined;
  private member: string | undefined;
  private strikes: StrikeCounter | undefined;
  /** Frames held by cork(). */
  private corked: Frame[] | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly session: string,
    readonly ip: string,
    /** Who the client is; fixed at the upgrade, except for STOMP, whose CONNECT frame may carry the token. */
    public principal: Principal,
    private readonly baseLog: Logger,
    private readonly limits: ConnectionLimits,
    private readonly metrics: ServerMetrics,
    private readonly now: () => number,
  ) {
    this.tokens = limits.burst;
    this.last = now();
  }

  /** The member id in `room` (stable across resumes, so not always `session`). */
  get memberId(): string | undefined {
    return this.member;
  }

  set memberId(id: string | undefined) {
    this.member = id;
    this.relayPrefix = id === undefined ? '' : signalPrefix(id);
    this.relayPrefixBytes = Buffer.byteLength(this.relayPrefix);
  }

  /**
   * A logger for one line about this connection: a pino child carrying `conn`, and `room` and
   * `member` while it is a member. Made per use, not kept: most connections never log a line,
   * and a child logger per connection would cost more memory than the rest of the connection.
   */
  get log(): Logger {
    const { room, member } = this;
    return this.baseLog.child(room === undefined || member === undefined ? { conn: this.session } : { conn: this.session, room, member });
  }

  /** True when a line at `level` would be written (skip building it otherwise). */
  logs(level: Level): boolean {
    return this.baseLog.isLevelEnabled(level);
  }

  /** A method, not a property test, so the check is not narrowed away across awaits. */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  /** idle -> joining `room`. */
  beginJoin(room: string): void {
    transition(CONNECTION_LIFECYCLE, this, 'joining');
    this.room = room;
  }

  /** joining -> joined as member `memberId`, which resumes with `resumeToken`. */
  seat(memberId: string, resumeToken: string): void {
    transition(CONNECTION_LIFECYCLE, this, 'joined');
    this.memberId = memberId;
    this.resumeToken = resumeToken;
  }

  /** Back to idle after a refused join (unless the socket closed meanwhile). */
  resetIfJoining(): void {
    if (this.state === 'joining') this.unseat();
  }

  /** joining/joined -> idle: the connection holds no membership any more (leave, refusal). */
  unseat(): void {
    transition(CONNECTION_LIFECYCLE, this, 'idle');
    this.room = undefined;
    this.memberId = undefined;
    this.resumeToken = undefined;
  }

  /** Any -> closed (idempotent): the socket is gone or going; nothing is sent or joined any more. */
  markClosed(): void {
    if (this.state !== 'closed') transition(CONNECTION_LIFECYCLE, this, 'closed');
  }

  /** Outbox.dismiss: the membership ended on the server's side (kick, evict, replaced). */
  dismiss(kind: EndKind, code: number, reason: string): void {
    if (this.state === 'joining' || this.state === 'joined') this.unseat();
    this.end(kind, code, reason);
  }

  get open(): boolean {
    return this.state !== 'closed' && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Admits one inbound message under the rate limit. Over the limit the client gets RATE_LIMITED;
   * past `floodStrikes` of those within 10 s the connection is closed (4008).
   */
  admit(re: MessageId | undefined): boolean {
    if (takeToken(this, this.limits.messagesPerSecond, this.limits.burst, this.now())) return true;
    this.strikes ??= new StrikeCounter(this.limits.floodStrikes, STRIKE_WINDOW_MS, this.now);
    if (this.strikes.strike()) {
      this.log.warn({ event: 'flood' }, 'closing a connection that keeps flooding');
      this.kick(CloseCode.RATE_LIMITED, 'rate limited');
    } else {
      this.sendError('RATE_LIMITED', `more than ${this.limits.messagesPerSecond} messages per second (burst ${this.limits.burst})`, re);
    }
    return false;
  }

  /**
   * Answers a WebSocket ping frame (the server turns ws's autoPong off: ws would terminate a flooder
   * itself, which looks like a dropped connection and keeps its member reserved for resume). Pings
   * count against the message rate; a client that keeps pinging past it is cut at once like any
   * flooder (4008), and its room sees `peer-left` `disconnect`.
   */
  answerPing(data: Buffer): void {
    if (!this.open) return;
    if (!takeToken(this, this.limits.messagesPerSecond, this.limits.burst, this.now())) {
      this.strikes ??= new StrikeCounter(this.limits.floodStrikes, STRIKE_WINDOW_MS, this.now);
      if (this.strikes.strike()) {
        this.log.warn({ event: 'flood', what: 'ping' }, 'closing a connection that floods ping frames');
        this.kick(CloseCode.RATE_LIMITED, 'rate limited');
        // Its close frame would queue behind the pongs it does not read: do not wait for it.
        this.ws.terminate();
      }
      return;
    }
    this.ws.pong(data);
    this.checkBuffered();
  }

  /** Holds this connection's frames, in order, until uncork (Hub.join: the join's answer waits for the other nodes). */
  cork(): void {
    this.corked ??= [];
  }

  /** Sends the frames held since cork. */
  uncork(): void {
    const held = this.corked;
    this.corked = undefined;
    if (held !== undefined) for (const f of held) this.sendFrame(f);
  }

  /** Sends a serialised v1 frame (through the codec when the connection speaks another protocol). */
  sendFrame(frame: Frame): void {
    if (!this.open) return;
    if (this.corked !== undefined) {
      this.corked.push(frame);
      return;
    }
    if (this.codec === undefined) {
      this.write(frame);
      return;
    }
    try {
      this.codec.deliver(frame);
    } catch (err) {
      // A codec fault must not reach the hub, which is delivering to other members too.
      this.log.error({ err, event: 'codec-fault', protocol: this.codec.protocol }, 'translating a frame threw; closing the connection (1011)');
      this.kick(CloseCode.INTERNAL, 'internal error');
    }
  }

  /** Writes wire bytes as they are. A client that lets its send buffer pass the bound is dropped (4009). */
  write(frame: Frame): void {
    if (!this.open) return;
    if (typeof frame === 'string') this.ws.send(frame);
    else this.ws.send(frame, TEXT);
    this.traffic |= SPOKE;
    this.checkBuffered();
  }

  private checkBuffered(): void {
    if (this.ws.bufferedAmount > this.limits.sendBufferBytes) {
      this.log.warn({ event: 'slow-consumer', buffered: this.ws.bufferedAmount }, 'closing a client that does not read');
      this.kick(CloseCode.SLOW_CONSUMER, 'slow consumer');
      // Its close frame would queue behind the unread data: do not wait for it.
      this.ws.terminate();
    }
  }

  send(frame: ServerMessage): void {
    if (this.open) this.sendFrame(encode(frame));
  }

  sendError(code: WireErrorCode, message: string, re?: MessageId): void {
    this.metrics.errors.inc({ code });
    if (this.logs('debug')) this.log.debug({ event: 'error-sent', code, re }, message);
    this.send(errorFrame(code, message, re));
  }

  /** Closes for misbehaviour: the room sees `disconnect` at once (no resume reservation). */
  kick(code: number, reason: string): void {
    this.end('kicked', code, reason);
  }

  /** Closes the socket, recording why (the first reason wins). */
  end(kind: EndKind, code: number, reason: string): void {
    this.endKind ??= kind;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
  }
}
