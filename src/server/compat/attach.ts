/**
 * Puts a compat codec in front of a new connection: the codec becomes the connection's EdgeCodec
 * (outbound) and the returned function takes the socket's messages (inbound). Protocol v1
 * connections get nothing from here and keep the dispatcher as their message handler.
 */
import type { Authenticator } from '../../auth/principal.js';
import type { Config } from '../../config/schema.js';
import type { Connection } from '../connection.js';
import { RawSession } from './raw-session.js';
import type { Edge } from './routes.js';
import { StompSession } from './stomp-session.js';

export interface AttachOptions {
  config: Readonly<Config>;
  authenticator: Authenticator;
  /** The v1 dispatcher: a translated frame enters the hub exactly as a v1 client's would. */
  dispatch: (conn: Connection, data: Buffer, isBinary: boolean) => void;
  /** The relay of a signal body already checked (dispatch.ts createSignalDataRelay), for STOMP's hot path. */
  relaySignalData: (conn: Connection, data: Buffer) => void;
  now: () => number;
}

/** The message handler of a compat connection, and what to run once the connection is set up. */
export interface Attached {
  inbound: (data: Buffer, isBinary: boolean) => void;
  start: () => void;
}

/** Attaches the codec for `edge` (not v1) to `conn`. */
export function attachEdge(conn: Connection, edge: Exclude<Edge, { kind: 'v1' }>, needsToken: boolean, o: AttachOptions): Attached {
  const dispatch = (v1: string | Buffer): void => o.dispatch(conn, typeof v1 === 'string' ? Buffer.from(v1) : v1, false);
  if (edge.kind === 'stomp') {
    const session = new StompSession({
      conn,
      dispatch,
      relaySignalData: (data) => o.relaySignalData(conn, data),
      verifyToken: o.authenticator.verifyToken?.bind(o.authenticator),
      needsToken,
      maxFrameBytes: o.config.limits.maxFrameBytes,
      heartbeatMs: o.config.compat.stompHeartbeatMs,
      now: o.now,
      server: 'sigctl',
    });
    conn.codec = session;
    return { inbound: (data, isBinary) => session.inbound(data, isBinary), start: () => undefined };
  }
  const session = new RawSession({
    conn,
    protocol: edge.kind,
    room: edge.room,
    capacity: o.config.rooms.maxCapacity,
    dispatch,
    maxHeldBytes: o.config.limits.maxFrameBytes * 4,
  });
  conn.codec = session;
  return { inbound: (data, isBinary) => session.inbound(data, isBinary), start: () => session.start() };
}
