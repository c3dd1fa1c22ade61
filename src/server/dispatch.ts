/**
 * Inbound frames of every connection: size and type checks, validation, the rate limit, then
 * routing. Signals and pings are handled at once; join, meta and leave run one at a time per
 * connection (a leave completes before a following join).
 */
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { MessageId } from '../protocol/messages.js';
import type { Connection } from './connection.js';
import { parseClientFrame } from './frames.js';
import { scanSignal } from './signal-scan.js';
import type { Hub } from './hub.js';
import type { ServerMetrics } from './metrics.js';

/**
 * A power of two: 1 in RELAY_SAMPLE signals is timed for sigctl_relay_duration_seconds. A
 * prom-client observation costs a few µs, several relays' worth; at 1 in 16 it was 2% of the
 * server's CPU at 2,000 signals/s. 1 in 128 still gives a busy node thousands a minute.
 */
export const RELAY_SAMPLE = 128;

function reOf(id: MessageId | undefined): { re?: MessageId } {
  return id === undefined ? {} : { re: id };
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
    });
  conn.control = next;
}

/** The 'message' handler shared by every connection of a server. */
export function createDispatcher(config: Readonly<Config>, hub: Hub, metrics: ServerMetrics): (conn: Connection, data: Buffer, isBinary: boolean) => void {
  const maxFrameBytes = config.limits.maxFrameBytes;
  // Relay latency is sampled: timing every message would cost more than the relay itself.
  let relayCount = 0;
  return (conn, data, isBinary) => {
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
      if ((++relayCount & (RELAY_SAMPLE - 1)) === 0) {
        const started = performance.now();
        hub.relayScanned(conn, scanned, data);
        metrics.relaySeconds.observe((performance.now() - started) / 1000);
      } else hub.relayScanned(conn, scanned, data);
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
}
