/**
 * A STOMP 1.2 (and 1.1/1.0) server session over one WebSocket, enough for an unmodified
 * @stomp/stompjs 7 or Spring's stomp.js client (docs/compat.md). The session is the connection's
 * EdgeCodec: STOMP frames from the client become v1 frames for the dispatcher (stomp-rooms.ts says
 * which), and the hub's v1 frames become MESSAGE frames on the client's subscriptions.
 *
 * Life cycle: connecting -> (CONNECT/STOMP, token checked) -> connected -> closed. Before CONNECT
 * only CONNECT is accepted. A frame the decoder refuses, an undefined command, or a CONNECT that
 * fails is answered with ERROR (a `message` header, details in the body) and the socket is closed
 * (spec: "the server MUST then close the connection"). Errors of the rooms (ROOM_FULL, NOT_JOINED,
 * ...) are not fatal: they go to /user/queue/system and the session lives on.
 *
 * Heart-beats (spec "Heart-beating"): the server offers `heartbeatMs` both ways; each direction
 * runs at the larger of what one side can do and the other wants. The server sends an EOL when it
 * has written nothing for its interval, and closes a client silent for twice the client's.
 */
import { isUtf8 } from 'node:buffer';
import type { Principal } from '../../auth/principal.js';
import { encodeStompHead, escapeStompHeader, stompFrameBytes } from '../../protocol/stomp-frame.js';
import { CloseCode } from '../../protocol/close-codes.js';
import { encodeStompFrame, StompDecoder, StompFrameError, STOMP_HEARTBEAT, type StompFrame } from '../../protocol/stomp-frame.js';
import type { Connection, EdgeCodec } from '../connection.js';
import type { Frame } from '../frames.js';
import { ME_QUEUE, membersTopic, RoomView, sendToV1, signalTopic, SYSTEM_QUEUE, type Publication } from './stomp-rooms.js';
import { signalSpan } from './signal-frame.js';
import { isSignalData } from '../signal-scan.js';

/** WebSocket subprotocols of STOMP, preferred first (stompjs offers all three). */
export const STOMP_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'] as const;

const VERSIONS = ['1.2', '1.1', '1.0'] as const;
/** Subscriptions one session may hold. */
const MAX_SUBSCRIPTIONS = 64;
/** Frames held while a CONNECT's token is being verified. */
const MAX_HELD = 32;

export interface StompSessionOptions {
  conn: Connection;
  /** Hands a v1 client frame to the dispatcher, as if the client had sent it. */
  dispatch: (v1: string | Buffer) => void;
  /** Relays a signal body that is one JSON value scanSignal accepts as data, and UTF-8, as the v1 frame `{"type":"signal","data":<body>}` would be. */
  relaySignalData: (data: Buffer) => void;
  /** Verifies a token that CONNECT carries; undefined when auth is off. */
  verifyToken: ((token: string) => Promise<Principal>) | undefined;
  /** True when the upgrade carried no token, so CONNECT must. */
  needsToken: boolean;
  maxFrameBytes: number;
  heartbeatMs: number;
  now: () => number;
  /** The server's name and version for CONNECTED's `server` header. */
  server: string;
}

type State = 'connecting' | 'authenticating' | 'connected' | 'closed';

/** One STOMP client connection (see the module comment). */
export class StompSession implements EdgeCodec {
  readonly protocol = 'stomp';
  private state: State = 'connecting';
  private readonly decoder: StompDecoder;
  private readonly subscriptions = new Map<string, string>();
  private readonly view: RoomView;
  private held: StompFrame[] = [];
  private messageSeq = 0;
  /** `message-id` up to the sequence number, escaped once. */
  private readonly messageIdHead: string;
  /** The SEND destination of the current room's signals (the relay hot path compares with it). */
  private signalDestination: { room: string; destination: string } | undefined;
  /**
   * The heads of MESSAGE frames to the current room's signal topic as bytes, one per subscription
   * to it, up to the `message-id` sequence number (the relay hot path).
   */
  private signalHeads: { room: string; heads: Buffer[] } | undefined;
  /** True once the client has sent a binary message: its bodies' UTF-8 is no longer known. */
  private binarySeen = false;
  private lastHeard: number;
  private lastSent: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: StompSessionOptions) {
    this.decoder = new StompDecoder({ maxFrameBytes: o.maxFrameBytes, maxHeaders: 64 });
    this.view = new RoomView(o.conn.session);
    this.messageIdHead = `message-id:${escapeStompHeader(`${o.conn.session}-`)}`;
    this.lastHeard = this.lastSent = o.now();
  }

  /**
   * One WebSocket message from the client (text or binary: stompjs may send either). ws checked a
   * text message's UTF-8; once the client has sent a binary one, the relay's hot path checks each
   * body before passing it on as bytes into text frames (a frame may span messages).
   */
  inbound(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (isBinary) this.binarySeen = true;
    this.lastHeard = this.o.now();
    let events;
    try {
      events = this.decoder.push(data);
    } catch (err) {
      if (!(err instanceof StompFrameError)) throw err;
      this.fail(err.message, err.problem === 'frame-too-large' ? CloseCode.TOO_LARGE : CloseCode.POLICY);
      return;
    }
    for (const e of events) {
      if (e.kind === 'frame') this.onFrame(e.frame);
      if (this.is('closed')) return;
    }
  }

  deliver(frame: Frame): void {
    if (this.state !== 'connected') return;
    // The relay hot path: a signal in the room goes straight to the signal topic's subscribers,
    // as the same MESSAGE that translate() and publish() would make, from heads built once.
    // Built as bytes around the frame's `data` bytes: no string is made of the signal.
    const room = this.view.room;
    const signal = room === undefined ? undefined : signalSpan(frame);
    if (signal !== undefined) {
      const sid = `\nsid:${escapeStompHeader(signal.from)}\n`;
      for (const head of this.signalHeadsOf(room!)) this.write(stompFrameBytes(head, `${++this.messageSeq}${sid}`, signal.bytes, signal.dataStart, signal.dataEnd));
      return;
    }
    for (const p of this.view.translate(frame)) this.publish(p);
  }

  private signalDestinationOf(room: string): string {
    if (this.signalDestination?.room !== room) this.signalDestination = { room, destination: `/app/rooms/${room}/signal` };
    return this.signalDestination.destination;
  }

  private signalHeadsOf(room: string): Buffer[] {
    if (this.signalHeads?.room !== room) {
      const destination = signalTopic(room);
      const heads: Buffer[] = [];
      for (const [id, d] of this.subscriptions) {
        if (d !== destination) continue;
        heads.push(Buffer.from(encodeStompHead('MESSAGE', [['destination', d], ['subscription', id], ['content-type', 'application/json']]) + this.messageIdHead));
      }
      this.signalHeads = { room, heads };
    }
    return this.signalHeads.heads;
  }

  close(): void {
    this.state = 'closed';
    clearInterval(this.timer);
    this.held = [];
  }

  private onFrame(f: StompFrame): void {
    if (this.state === 'authenticating') {
      if (this.held.push(f) > MAX_HELD) this.fail('too many frames before CONNECTED', CloseCode.POLICY);
      return;
    }
    if (this.state === 'connecting') {
      if (f.command === 'CONNECT' || f.command === 'STOMP') this.connect(f);
      else this.fail(`expected CONNECT, got ${f.command}`, CloseCode.POLICY);
      return;
    }
    switch (f.command) {
      case 'SEND':
        this.send(f);
        break;
      case 'SUBSCRIBE':
        if (!this.o.conn.admit(undefined)) return;
        this.subscribe(f);
        break;
      case 'UNSUBSCRIBE': {
        if (!this.o.conn.admit(undefined)) return;
        const id = f.headers.get('id') ?? f.headers.get('destination');
        if (id === undefined) return this.fail('UNSUBSCRIBE needs an id header', CloseCode.POLICY);
        this.subscriptions.delete(id);
        this.signalHeads = undefined;
        break;
      }
      case 'DISCONNECT':
        this.receipt(f);
        this.state = 'closed';
        this.o.conn.end('clean', CloseCode.NORMAL, 'disconnect');
        return;
      case 'ACK':
      case 'NACK':
      case 'BEGIN':
      case 'COMMIT':
      case 'ABORT':
        // Subscriptions are auto-ack and there are no transactions to keep: accepted as no-ops.
        if (!this.o.conn.admit(undefined)) return;
        break;
      case 'CONNECT':
      case 'STOMP':
        return this.fail('already connected', CloseCode.POLICY);
      default:
        return this.fail(`unknown command ${f.command}`, CloseCode.POLICY);
    }
    if (this.is('connected')) this.receipt(f);
  }

  /** A method, not a property test, so the check is not narrowed away by the calls before it. */
  private is(state: State): boolean {
    return this.state === state;
  }

  private connect(f: StompFrame): void {
    const offered = (f.headers.get('accept-version') ?? '1.0').split(',').map((v) => v.trim());
    const version = VERSIONS.find((v) => offered.includes(v));
    if (version === undefined) {
      this.fail(`no common STOMP version: the server speaks ${VERSIONS.join(', ')}`, CloseCode.POLICY, [['version', VERSIONS.join(',')]]);
      return;
    }
    if (!this.o.needsToken || this.o.verifyToken === undefined) return this.connected(f, version);
    const token = tokenOf(f);
    if (token === undefined) {
      this.fail('missing token: send "Authorization: Bearer <jwt>" (or passcode) in CONNECT, or ?token= in the URL', CloseCode.POLICY, [['code', 'UNAUTHORIZED']]);
      return;
    }
    this.state = 'authenticating';
    this.o.verifyToken(token).then(
      (principal) => {
        if (this.state !== 'authenticating') return;
        this.o.conn.principal = principal;
        this.connected(f, version);
        const held = this.held;
        this.held = [];
        for (const h of held) if (this.is('connected')) this.onFrame(h);
      },
      (err: unknown) => {
        if (this.state !== 'authenticating') return;
        const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'UNAUTHORIZED';
        this.fail(err instanceof Error ? err.message : 'token refused', CloseCode.POLICY, [['code', code]]);
      },
    );
  }

  private connected(f: StompFrame, version: string): void {
    this.state = 'connected';
    const [cx, cy] = heartBeat(f.headers.get('heart-beat'));
    const hb = this.o.heartbeatMs;
    // Server -> client every max(sx, cy) when both are non-zero; client -> server every max(cx, sy).
    const outgoing = cy === 0 ? 0 : Math.max(hb, cy);
    const incoming = cx === 0 ? 0 : Math.max(hb, cx);
    const headers: Array<[string, string]> = [
      ['version', version],
      ['heart-beat', `${hb},${hb}`],
      ['server', this.o.server],
      ['session', this.o.conn.session],
    ];
    if (this.o.conn.principal.sub !== undefined) headers.push(['user-name', this.o.conn.principal.sub]);
    this.write(encodeStompFrame('CONNECTED', headers));
    this.receipt(f);
    if (outgoing > 0 || incoming > 0) this.startHeartbeat(outgoing, incoming);
  }

  private startHeartbeat(outgoing: number, incoming: number): void {
    const tick = Math.min(...[outgoing, incoming].filter((ms) => ms > 0)) / 2;
    this.timer = setInterval(() => {
      const now = this.o.now();
      if (incoming > 0 && now - this.lastHeard > 2 * incoming) {
        this.o.conn.log.info({ event: 'stomp-heartbeat-timeout' }, 'STOMP client silent for two heart-beat intervals');
        this.close();
        this.o.conn.end('abnormal', CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        return;
      }
      if (outgoing > 0 && now - this.lastSent >= outgoing) this.write(STOMP_HEARTBEAT);
    }, tick);
    this.timer.unref();
  }

  private subscribe(f: StompFrame): void {
    const destination = f.headers.get('destination');
    const id = f.headers.get('id') ?? destination;
    if (destination === undefined || id === undefined) return this.fail('SUBSCRIBE needs destination and id headers', CloseCode.POLICY);
    if (!this.subscriptions.has(id) && this.subscriptions.size >= MAX_SUBSCRIPTIONS) return this.fail(`more than ${MAX_SUBSCRIPTIONS} subscriptions`, CloseCode.POLICY);
    this.subscriptions.set(id, destination);
    this.signalHeads = undefined;
    // Late subscribers get the current state at once (a broker would have nothing retained).
    if (destination === ME_QUEUE) this.publishTo(id, destination, JSON.stringify({ sid: this.view.sid }));
    else if (this.view.room !== undefined && destination === membersTopic(this.view.room)) this.publishTo(id, destination, this.view.list());
  }

  private send(f: StompFrame): void {
    const destination = f.headers.get('destination');
    if (destination === undefined) return this.fail('SEND needs a destination header', CloseCode.POLICY);
    // The relay hot path: a signal to the session's own room whose body the scanner accepts as
    // JSON (and is UTF-8) is relayed as a v1 signal's data byte for byte, with no string made and
    // no v1 frame built and scanned again (createSignalDataRelay); anything else (another
    // destination, a body the scanner is unsure of) takes sendToV1, which decides as before.
    if (this.view.room !== undefined && destination === this.signalDestinationOf(this.view.room) && isSignalData(f.body) && (!this.binarySeen || isUtf8(f.body))) {
      this.o.relaySignalData(f.body);
      return;
    }
    const action = sendToV1(destination, f.body.toString('utf8'));
    if (!action.ok) {
      this.publish({ destination: SYSTEM_QUEUE, body: JSON.stringify({ type: action.code, code: action.code, message: action.message }) });
      return;
    }
    if (action.action !== 'join' && this.view.room !== undefined && action.room !== this.view.room) {
      const message = `this session is in room ${JSON.stringify(this.view.room)}, not ${JSON.stringify(action.room)}`;
      this.publish({ destination: SYSTEM_QUEUE, body: JSON.stringify({ type: 'NOT_JOINED', code: 'NOT_JOINED', message }) });
      return;
    }
    this.o.dispatch(action.v1);
  }

  private publish(p: Publication): void {
    for (const [id, destination] of this.subscriptions) if (destination === p.destination) this.publishTo(id, destination, p.body, p.headers);
  }

  private publishTo(subscription: string, destination: string, body: string, extra: ReadonlyArray<readonly [string, string]> = []): void {
    const headers: Array<readonly [string, string]> = [
      ['destination', destination],
      ['subscription', subscription],
      ['message-id', `${this.o.conn.session}-${++this.messageSeq}`],
      ['content-type', 'application/json'],
      ...extra,
    ];
    this.write(encodeStompFrame('MESSAGE', headers, body));
  }

  private receipt(f: StompFrame): void {
    const id = f.headers.get('receipt');
    if (id !== undefined) this.write(encodeStompFrame('RECEIPT', [['receipt-id', id]]));
  }

  /** ERROR, then close (spec: an ERROR frame ends the connection). */
  private fail(message: string, code: number, extra: Array<[string, string]> = []): void {
    if (this.state === 'closed') return;
    this.o.conn.log.info({ event: 'stomp-error', reason: message }, 'STOMP session closed with ERROR');
    this.write(encodeStompFrame('ERROR', [['message', message.slice(0, 200)], ...extra], message));
    this.close();
    this.o.conn.end('kicked', code, message.slice(0, 100));
  }

  private write(text: string | Buffer): void {
    this.lastSent = this.o.now();
    this.o.conn.write(text);
  }
}

/** The token of a CONNECT frame: `Authorization: Bearer <jwt>`, else `passcode`. */
function tokenOf(f: StompFrame): string | undefined {
  const auth = f.headers.get('Authorization') ?? f.headers.get('authorization');
  const m = auth === undefined ? null : /^Bearer[ \t]+(\S+)\s*$/i.exec(auth);
  if (m !== null) return m[1];
  const passcode = f.headers.get('passcode');
  return passcode === undefined || passcode === '' ? undefined : passcode;
}

/** `heart-beat: cx,cy` (spec: absent means 0,0). */
function heartBeat(header: string | undefined): [number, number] {
  const m = header === undefined ? null : /^\s*(\d{1,9})\s*,\s*(\d{1,9})\s*$/.exec(header);
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
}
