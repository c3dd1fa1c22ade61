/**
 * What a signaling load client says on the wire, per `--protocol` (docs/compat.md), so that the
 * load worker's pacing and delivery accounting are one piece of code for every protocol:
 *
 * - v1: `join`, then `{"type":"signal","data":P}`; joined on `joined`; receives `signal` frames.
 * - stomp: STOMP 1.2 on the v1 path (subprotocol `v12.stomp`): CONNECT, SUBSCRIBE to the room's
 *   signal and members topics, /user/queue/me and /user/queue/system, SEND to
 *   /app/rooms/{room}/join, then each signal as a SEND to /app/rooms/{room}/signal with body P.
 *   Joined on the first MESSAGE of the members topic (the server publishes the list on the join).
 * - raw: the room-per-path relay `/room/<room>` on the URL's host. It has no join acknowledgement,
 *   so the peers' own first frames are the ready barrier: on open a client sends `{"hello":i}`,
 *   and answers the first hello of every peer with its own again (a hello sent before a peer had
 *   joined reached nobody: the answer gets to it). It is ready once it heard a hello from every
 *   other planned member of its room; a lone member is ready at once. Signals are P, bare.
 *
 * P is the bench payload `{"s":sender,"q":seq,"p":phase,"t":sentAt}` in every protocol.
 */
import { SUBPROTOCOL } from '../protocol/index.js';
import { encodeStompFrame, StompDecoder, StompFrameError } from '../protocol/stomp-frame.js';
import type { BenchProtocol } from './signaling-messages.js';

/** A bench payload, checked field by field (cheap enough for the hot path, no cast). */
export interface BenchPayload {
  s: number;
  q: number;
  p: number;
  t: number;
}

/** What one inbound WebSocket message meant to the client. */
export interface InboundSink {
  /** The client is in its room (v1 `joined`, the STOMP member list, the raw barrier). */
  joined(): void;
  /** A bench payload from another member. */
  signal(payload: BenchPayload): void;
  /** An error the server reported, by catalogue code. */
  error(code: string): void;
  /** Sends a frame of the dialect's own (the opening frames, the raw barrier's hello). */
  send(frame: string): void;
}

/** One client's side of the conversation. */
export interface ClientDialect {
  /** The URL to open for `url` (a node's v1 URL). */
  connectUrl(url: string): string;
  /** The WebSocket subprotocol to offer. */
  readonly subprotocol: string | undefined;
  /** The socket is open: sends the opening frames (join, ...). */
  opened(sink: InboundSink): void;
  /** The frame that carries one payload's JSON text. */
  signal(payload: string): string;
  /** Interprets one inbound text message. */
  inbound(text: string, sink: InboundSink): void;
}

/** Who a client is: its sender index, its room and the room's planned size. */
export interface DialectClient {
  index: number;
  room: string;
  members: number;
  /** Capacity asked for in a v1 join. */
  capacity: number;
}

/** The bench payload in a decoded message, or undefined when it is not one. */
export function toPayload(data: unknown): BenchPayload | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { s, q, p, t } = data as Record<string, unknown>;
  if (typeof s !== 'number' || typeof q !== 'number' || typeof p !== 'number' || typeof t !== 'number') return undefined;
  return { s, q, p, t };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function field(msg: unknown, name: string): unknown {
  return typeof msg === 'object' && msg !== null ? (msg as Record<string, unknown>)[name] : undefined;
}

class V1Dialect implements ClientDialect {
  readonly subprotocol = SUBPROTOCOL;
  constructor(private readonly c: DialectClient) {}

  connectUrl(url: string): string {
    return url;
  }

  opened(sink: InboundSink): void {
    sink.send(JSON.stringify({ type: 'join', room: this.c.room, name: `b${this.c.index}`, capacity: this.c.capacity }));
  }

  signal(payload: string): string {
    return `{"type":"signal","data":${payload}}`;
  }

  inbound(text: string, sink: InboundSink): void {
    const msg = parse(text);
    const type = field(msg, 'type');
    if (type === 'signal') {
      const p = toPayload(field(msg, 'data'));
      if (p !== undefined) sink.signal(p);
    } else if (type === 'joined') sink.joined();
    else if (type === 'error') {
      const code = field(msg, 'code');
      sink.error(typeof code === 'string' ? code : 'BAD_MESSAGE');
    }
  }
}

const STOMP_LIMITS = { maxFrameBytes: 1 << 20, maxHeaders: 64 };

class StompDialect implements ClientDialect {
  readonly subprotocol = 'v12.stomp';
  private readonly decoder = new StompDecoder(STOMP_LIMITS);
  private readonly signalTopic: string;
  private readonly membersTopic: string;
  private readonly sendTo: string;
  private joined = false;

  constructor(private readonly c: DialectClient) {
    this.signalTopic = `/topic/rooms/${c.room}/signal`;
    this.membersTopic = `/topic/rooms/${c.room}/members`;
    this.sendTo = `/app/rooms/${c.room}/signal`;
  }

  connectUrl(url: string): string {
    return url;
  }

  opened(sink: InboundSink): void {
    const subscribe = (id: string, destination: string): string => encodeStompFrame('SUBSCRIBE', [['id', id], ['destination', destination]]);
    // No heart-beats: the window measures the relay, and 0,0 keeps timers out of the server.
    sink.send(encodeStompFrame('CONNECT', [['accept-version', '1.2'], ['heart-beat', '0,0']]));
    sink.send(subscribe('me', '/user/queue/me'));
    sink.send(subscribe('system', '/user/queue/system'));
    sink.send(subscribe('members', this.membersTopic));
    sink.send(subscribe('signal', this.signalTopic));
    const join = JSON.stringify({ roomId: this.c.room, displayName: `b${this.c.index}` });
    sink.send(encodeStompFrame('SEND', [['destination', `/app/rooms/${this.c.room}/join`], ['content-type', 'application/json']], join));
  }

  signal(payload: string): string {
    return encodeStompFrame('SEND', [['destination', this.sendTo]], payload);
  }

  inbound(text: string, sink: InboundSink): void {
    let events;
    try {
      events = this.decoder.push(text);
    } catch (err) {
      if (!(err instanceof StompFrameError)) throw err;
      sink.error('BAD_MESSAGE');
      return;
    }
    for (const e of events) {
      if (e.kind !== 'frame') continue;
      const f = e.frame;
      if (f.command === 'ERROR') {
        sink.error(f.headers.get('code') ?? 'STOMP_ERROR');
        continue;
      }
      if (f.command !== 'MESSAGE') continue;
      const destination = f.headers.get('destination');
      if (destination === this.signalTopic) {
        const p = toPayload(parse(f.body.toString('utf8')));
        if (p !== undefined) sink.signal(p);
      } else if (destination === this.membersTopic) {
        if (!this.joined) {
          this.joined = true;
          sink.joined();
        }
      } else if (destination === '/user/queue/system') {
        const code = field(parse(f.body.toString('utf8')), 'code');
        sink.error(typeof code === 'string' ? code : 'BAD_MESSAGE');
      }
    }
  }
}

class RawDialect implements ClientDialect {
  readonly subprotocol = undefined;
  private readonly heard = new Set<number>();
  private readonly hello: string;
  private ready = false;

  constructor(private readonly c: DialectClient) {
    this.hello = JSON.stringify({ hello: c.index });
  }

  connectUrl(url: string): string {
    const u = new URL(url);
    u.pathname = `/room/${encodeURIComponent(this.c.room)}`;
    return u.toString();
  }

  opened(sink: InboundSink): void {
    sink.send(this.hello);
    this.check(sink);
  }

  signal(payload: string): string {
    return payload;
  }

  /** Ready once every other planned member was heard (a lone member at once). */
  private check(sink: InboundSink): void {
    if (!this.ready && this.heard.size >= this.c.members - 1) {
      this.ready = true;
      sink.joined();
    }
  }

  inbound(text: string, sink: InboundSink): void {
    const msg = parse(text);
    const hello = field(msg, 'hello');
    if (typeof hello === 'number') {
      if (hello === this.c.index || this.heard.has(hello)) return;
      this.heard.add(hello);
      sink.send(this.hello);
      this.check(sink);
      return;
    }
    const p = toPayload(msg);
    if (p !== undefined) sink.signal(p);
  }
}

/** The dialect of one client. */
export function clientDialect(protocol: BenchProtocol, client: DialectClient): ClientDialect {
  if (protocol === 'stomp') return new StompDialect(client);
  if (protocol === 'raw') return new RawDialect(client);
  return new V1Dialect(client);
}
