/**
 * The raw relays (docs/compat.md): a client of a room-per-path server (`/room/<id>`, Spring's
 * TextWebSocketHandler) or of a broadcast path (`/signal`, `/socket`) sends bare text frames, and
 * every other session there gets each one verbatim. Here such a client is an ordinary member of a
 * hub room (the path's room id, or `broadcast:<path>`), so v1 and STOMP members can share it:
 *
 * - it joins on connect; frames it sends before `joined` are held (bounded) and then relayed in
 *   order, so nothing sent right after the socket opened is lost;
 * - a text frame becomes a v1 signal to the whole room whose `data` is the frame when it is JSON
 *   (byte for byte), else the frame as a JSON string;
 * - a signal from anyone reaches it as `data`'s text, or as the bare string when `data` is one;
 * - everything else the hub says (joined, peer-joined, ready, ...) has no raw form and is dropped.
 *   A refused join closes the socket with 4013 and the error code as the reason.
 */
import { CloseCode } from '../../protocol/close-codes.js';
import { ServerMessage } from '../../protocol/messages.js';
import type { Connection, EdgeCodec } from '../connection.js';
import type { Frame } from '../frames.js';
import { isJson, signalRequest, signalSpan, spanData, type SignalSpan } from './signal-frame.js';

export interface RawSessionOptions {
  conn: Connection;
  /** `room-path` (`/room/<id>`) or `broadcast` (`/signal`, `/socket`): for logs and metrics. */
  protocol: 'raw' | 'broadcast';
  room: string;
  capacity: number;
  dispatch: (v1: string) => void;
  /** Most bytes held while the join is under way. */
  maxHeldBytes: number;
}

/** One raw relay client (see the module comment). */
export class RawSession implements EdgeCodec {
  readonly protocol: 'raw' | 'broadcast';
  private joined = false;
  private closed = false;
  private held: string[] = [];
  private heldBytes = 0;

  constructor(private readonly o: RawSessionOptions) {
    this.protocol = o.protocol;
  }

  /** Joins the room; call once the connection is set up. */
  start(): void {
    this.o.dispatch(JSON.stringify({ type: 'join', room: this.o.room, capacity: this.o.capacity }));
  }

  inbound(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.closed = true;
      this.o.conn.end('kicked', CloseCode.UNSUPPORTED_DATA, 'binary frames are not relayed; send text');
      return;
    }
    const text = data.toString('utf8');
    const v1 = signalRequest(isJson(text) ? text : JSON.stringify(text));
    if (this.joined) {
      this.o.dispatch(v1);
      return;
    }
    this.heldBytes += data.length;
    if (this.heldBytes > this.o.maxHeldBytes) {
      this.closed = true;
      this.o.conn.end('kicked', CloseCode.POLICY, 'too much sent before the join completed');
      return;
    }
    this.held.push(v1);
  }

  deliver(frame: Frame): void {
    if (this.closed) return;
    const signal = signalSpan(frame);
    if (signal !== undefined) {
      this.o.conn.write(bareText(signal));
      return;
    }
    if (this.joined) return;
    // Until the join completes, its outcome is all that matters (these frames are rare).
    const parsed = ServerMessage.safeParse(JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8')));
    if (!parsed.success) return;
    const msg = parsed.data;
    if (msg.type === 'joined') {
      this.joined = true;
      const held = this.held;
      this.held = [];
      this.heldBytes = 0;
      for (const v1 of held) this.o.dispatch(v1);
    } else if (msg.type === 'error') {
      this.closed = true;
      this.o.conn.end('kicked', CloseCode.JOIN_REFUSED, msg.code);
    }
  }

  close(): void {
    this.closed = true;
    this.held = [];
  }
}

/**
 * What a raw client receives for a signal's `data`: a JSON string as its text, anything else as
 * JSON, as the sender's bytes (a view of the frame, not a copy).
 */
function bareText(signal: SignalSpan): string | Buffer {
  const data = signal.bytes.subarray(signal.dataStart, signal.dataEnd);
  if (data[0] !== 0x22) return data;
  const value: unknown = JSON.parse(spanData(signal));
  return typeof value === 'string' ? value : data;
}
