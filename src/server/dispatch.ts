/**
 * Inbound frames of every connection: size and type checks, validation, the rate limit, then
 * routing. Signals and pings are handled at once; join, meta and leave run one at a time per
 * connection (a leave completes before a following join).
 */
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../protocol/limits.js';
import type { MessageId } from '../protocol/messages.js';
import type { Connection } from './connection.js';
import { parseClientFrame } from './frames.js';
import { scanSignal, type ScannedSignal } from './signal-scan.js';
import type { Hub } from './hub.js';
import type { ServerMetrics } from './metrics.js';

/**
 * A power of two: 1 in RELAY_SAMPLE signals is timed for sigctl_relay_duration_seconds, so the
 * relay path pays for two clock reads and a prom-client observation only now and then. What the
 * histogram cost at 1 in 16 is in BENCHMARKS.md, "Where the time goes (profiles)" (a `node
 * --cpu-prof` of `sigctl serve` under `sigctl bench signaling --clients 200 --rate 30`). 1 in 128
 * still gives a node relaying 1,000 signals/s about 470 samples a minute.
 */
export const RELAY_SAMPLE = 128;

function reOf(id: MessageId | undefined): { re?: MessageId } {
  return id === undefined ? {} : { re: id };
}

const TOO_DEEP = `JSON nested deeper than ${MAX_JSON_DEPTH} levels (the protocol's limit, the frame object counting as one)`;

/**
 * The last resort: a frame of one connection threw where nothing expected it to. That connection
 * is closed (1011) and the error logged; the exception never reaches the process, so every other
 * connection keeps being served.
 */
export function fault(conn: Connection, err: unknown): void {
  try {
    conn.log.error({ err, event: 'frame-fault' }, 'handling a frame threw; closing the connection (1011)');
    conn.kick(CloseCode.INTERNAL, 'internal error');
  } catch {
    conn.ws.terminate();
  }
}

/** Runs control messages of one connection one at a time; a failure answers INTERNAL. */
function control(conn: Connection, op: () => Promise<void>): void {
  const next: Promise<void> = (conn.control ?? Promise.resolve())
    .then(op)
    .catch((err: unknown) => {
      conn.log.error({ err }, 'control message failed');
      conn.sendError('INTERNAL', 'internal error; the connection keeps working');
    })
    .then(() => {
      // Nothing queued behind it: drop the settled chain (one less object per idle connection).
      if (conn.control === next) conn.control = undefined;
    })
    // Reached only when answering the failure threw too: no rejection may go unhandled.
    .catch((err: unknown) => fault(conn, err));
  conn.control = next;
}

/** The 'message' handler shared by every connection of a server. */
/** Relays a scanned signal; relay latency is sampled (RELAY_SAMPLE). */
function sampledRelay(hub: Hub, metrics: ServerMetrics): (conn: Connection, scanned: ScannedSignal, raw: Buffer) => void {
  let relayCount = 0;
  return (conn, scanned, raw) => {
    if ((++relayCount & (RELAY_SAMPLE - 1)) === 0) {
      const started = performance.now();
      hub.relayScanned(conn, scanned, raw);
      metrics.relaySeconds.observe((performance.now() - started) / 1000);
    } else hub.relayScanned(conn, scanned, raw);
  };
}

/** Bytes a v1 signal frame adds around its `data` (signalRequest in compat/signal-frame.ts). */
const SIGNAL_FRAME_OVERHEAD = Buffer.byteLength('{"type":"signal","data":}');

/**
 * The relay of a compat codec's signal (STOMP's hot path): `data` is a body the codec found to be
 * one JSON value that scanSignal accepts as a signal's data (isSignalData), and valid UTF-8. It does
 * what dispatching the v1 frame `{"type":"signal","data":<data>}` would (the same size limit, the
 * rate limit, a signal to every other member), without building that frame and scanning it again.
 */
export function createSignalDataRelay(config: Readonly<Config>, hub: Hub, metrics: ServerMetrics): (conn: Connection, data: Buffer) => void {
  const maxFrameBytes = config.limits.maxFrameBytes;
  const relay = sampledRelay(hub, metrics);
  return (conn, data) => {
    if (conn.isClosed()) return;
    const size = data.length + SIGNAL_FRAME_OVERHEAD;
    if (size > maxFrameBytes) {
      conn.sendError('TOO_LARGE', `frame of ${size} bytes exceeds the limit of ${maxFrameBytes}`);
      conn.kick(CloseCode.TOO_LARGE, 'frame too large');
      return;
    }
    if (!conn.admit(undefined)) return;
    relay(conn, { to: undefined, id: undefined, dataStart: 0, dataEnd: data.length }, data);
  };
}

export function createDispatcher(config: Readonly<Config>, hub: Hub, metrics: ServerMetrics): (conn: Connection, data: Buffer, isBinary: boolean) => void {
  const maxFrameBytes = config.limits.maxFrameBytes;
  const relay = sampledRelay(hub, metrics);
  const dispatch = (conn: Connection, data: Buffer, isBinary: boolean): void => {
    if (conn.isClosed()) return;
    if (isBinary) {
      conn.sendError('BAD_MESSAGE', 'binary frames are not part of the protocol; send JSON text');
      return;
    }
    if (data.length > maxFrameBytes) {
      conn.sendError('TOO_LARGE', `frame of ${data.length} bytes exceeds the limit of ${maxFrameBytes}`);
      conn.kick(CloseCode.TOO_LARGE, 'frame too large');
      return;
    }
    // The hot path: a plain signal is validated in one pass over its bytes (no string, no parsed
    // object, no schema) and relayed around its own `data` bytes. Anything else, including any
    // frame the scanner is unsure of, takes the full path below.
    const scanned = scanSignal(data);
    if (scanned !== undefined) {
      if (!conn.admit(scanned.id)) return;
      relay(conn, scanned, data);
      return;
    }
    // Nothing may recurse on a frame before its depth is known to be bounded (JSON.stringify of a
    // 5,000-deep `data` overflows the stack): one linear pass over the bytes, then the parse.
    if (nestsDeeperThan(data, MAX_JSON_DEPTH)) {
      if (conn.admit(undefined)) conn.sendError('BAD_MESSAGE', TOO_DEEP);
      return;
    }
    const parsed = parseClientFrame(data.toString());
    if (!conn.admit(parsed.ok ? parsed.msg.id : parsed.re)) return;
    if (!parsed.ok) {
      conn.sendError(parsed.code, parsed.message, parsed.re);
      return;
    }
    const msg = parsed.msg;
    switch (msg.type) {
      case 'signal':
        // A signal the scanner left to the schema (unknown keys stripped, escapes, ...).
        hub.signal(conn, msg);
        return;
      case 'ping':
        conn.send(msg.ts === undefined ? { type: 'pong', ...reOf(msg.id) } : { type: 'pong', ...reOf(msg.id), ts: msg.ts });
        return;
      case 'join':
        control(conn, () => hub.join(conn, msg));
        return;
      case 'meta':
        control(conn, () => hub.meta(conn, msg));
        return;
      case 'leave':
        control(conn, () => hub.leave(conn, msg));
        return;
    }
  };
  return (conn, data, isBinary) => {
    try {
      dispatch(conn, data, isBinary);
    } catch (err) {
      fault(conn, err);
    }
  };
}
