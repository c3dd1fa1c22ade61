/**
 * Liveness: every `heartbeatMs` each open connection is pinged; two unanswered pings close it
 * (4010) as an unexpected disconnect (its member is reserved for resume). A connection whose frames
 * went both ways since the last tick is spared its ping: the client just proved it is alive, and
 * just received traffic of its own, so it still hears from us at least every 2 x heartbeatMs. In a
 * busy room that saves a ping and a pong per member per period.
 */
import WebSocket from 'ws';
import { CloseCode } from '../protocol/close-codes.js';
import { HEARD, SPOKE, type Connection } from './connection.js';

/** What the heartbeat needs from the server. */
export interface HeartbeatOptions {
  everyMs: number;
  /** The open connections, read at each tick. */
  connections: () => Iterable<Connection>;
  /** Ends a connection as an unexpected disconnect (FrontDoor.drop). */
  drop: (conn: Connection, code: number, reason: string) => void;
  /** How long a dropped socket gets to carry its close frame before it is terminated (default 1000 ms). */
  terminateAfterMs?: number;
}

/** Starts pinging every `everyMs`; returns its stop function (idempotent). */
export function startHeartbeat(o: HeartbeatOptions): () => void {
  const terminateAfterMs = o.terminateAfterMs ?? 1000;
  const tick = (): void => {
    for (const conn of o.connections()) {
      if (conn.ws.readyState !== WebSocket.OPEN || conn.isClosed()) continue;
      const traffic = conn.traffic;
      conn.traffic = 0;
      if (traffic === (HEARD | SPOKE)) {
        conn.missedPongs = 0;
        continue;
      }
      if (conn.missedPongs >= 2) {
        conn.log.info({ event: 'heartbeat-timeout' }, 'missed two heartbeats');
        // Membership is handled now; the socket gets a moment to carry the close frame.
        o.drop(conn, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        setTimeout(() => conn.ws.terminate(), terminateAfterMs).unref();
        continue;
      }
      conn.missedPongs++;
      conn.ws.ping();
    }
  };
  const timer = setInterval(tick, o.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
