/**
 * The WebSocket front door: the upgrade checks (./upgrade.ts) hand accepted sockets here, each
 * becomes a Connection speaking protocol v1 or a compat protocol (./compat), is greeted with
 * `welcome`, and is tracked until its socket closes, when its member is handed back to the hub
 * (left, or reserved for resume). The set of open connections lives here and only here: the
 * heartbeat, the drain, the teardown and the gauges read it through this class.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { iceServersFor } from '../auth/ice-servers.js';
import type { Authenticator, Principal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../protocol/version.js';
import { createClientAddress } from './client-address.js';
import { attachEdge } from './compat/attach.js';
import { routeUpgrade, type Edge } from './compat/routes.js';
import { STOMP_SUBPROTOCOLS } from './compat/stomp-session.js';
import { Connection, HEARD, type EndKind } from './connection.js';
import { createDispatcher, createSignalDataRelay, fault } from './dispatch.js';
import type { PendingHandshakes } from './handshake.js';
import type { Hub } from './hub.js';
import type { ServerMetrics } from './metrics.js';
import type { ConnectionCounter } from './rate-limit.js';
import { createUpgradeHandler } from './upgrade.js';

/**
 * A new session id: 64 random bits, URL-safe (short on the wire: every relayed signal carries it).
 * It never starts with `-`: typed as an argument (`sigctl rooms kick <room> <member>`) it would be
 * read as an option.
 */
export function sessionId(): string {
  const id = randomBytes(8).toString('base64url');
  return id.charCodeAt(0) === 0x2d ? `_${id.slice(1)}` : id;
}

/** What the front door is built from. */
export interface FrontDoorOptions {
  config: Readonly<Config>;
  logger: Logger;
  hub: Hub;
  metrics: ServerMetrics;
  authenticator: Authenticator;
  checkOrigin: (origin: string | undefined) => boolean;
  now: () => number;
  /** Open connections per address (upgrade.ts acquires a slot, the socket's close releases it). */
  perIp: ConnectionCounter;
  /** Connections not yet upgraded (./handshake.ts): an upgraded socket leaves it. */
  pending: PendingHandshakes;
  baseUrl: () => string;
  /** True while the server drains: upgrades get 503 and a socket accepted meanwhile gets `bye`. */
  draining: () => boolean;
}

/** The server's WebSocket side and its open connections. */
export class FrontDoor {
  /** The server's 'upgrade' listener. */
  readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  private readonly connections = new Set<Connection>();
  // The rare events of every socket share one listener each, finding their connection here; only
  // 'message' (the hot path) gets a closure of its own. Thousands of sockets stay open, and three
  // closures per socket cost more memory than this map's entry.
  private readonly connOf = new WeakMap<WebSocket, Connection>();
  private readonly wss: WebSocketServer;
  private readonly dispatch: (conn: Connection, data: Buffer, isBinary: boolean) => void;
  /** Compat codecs' signals, already checked (dispatch.ts createSignalDataRelay). */
  private readonly relaySignalData: (conn: Connection, data: Buffer) => void;
  private readonly onPong: (this: WebSocket) => void;
  private readonly onPing: (this: WebSocket, data: Buffer) => void;
  private readonly onSocketError: (this: WebSocket, err: Error) => void;
  private readonly onClose: (this: WebSocket, code: number) => void;
  private emptyWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly o: FrontDoorOptions) {
    const { config, logger } = o;
    this.dispatch = createDispatcher(config, o.hub, o.metrics);
    this.relaySignalData = createSignalDataRelay(config, o.hub, o.metrics);
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // Pings are answered by Connection.answerPing, under the rate limit (see there).
      autoPong: false,
      // Twice the frame limit, so a frame just over it still gets a TOO_LARGE reply before the
      // close; beyond that ws refuses it unbuffered (close 1009 without the reply).
      maxPayload: config.limits.maxFrameBytes * 2,
      // v1 clients offer sigctl.v1; STOMP clients (compat.stomp) get the first STOMP version they offer echoed.
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : config.compat.stomp ? (STOMP_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false) : false),
    });
    this.wss.on('wsClientError', (err, socket) => {
      logger.debug({ err }, 'bad websocket handshake');
      socket.destroy();
    });

    const connOf = this.connOf;
    this.onPong = function (this: WebSocket): void {
      const conn = connOf.get(this);
      if (conn !== undefined) conn.missedPongs = 0;
    };
    this.onPing = function (this: WebSocket, data: Buffer): void {
      connOf.get(this)?.answerPing(data);
    };
    this.onSocketError = function (this: WebSocket, err: Error): void {
      const conn = connOf.get(this);
      if (conn === undefined) return;
      // ws reports client protocol violations here (oversized frame, bad UTF-8, bad opcode) and
      // closes the socket itself: the member leaves at once, as for any misbehaviour.
      conn.endKind ??= 'kicked';
      if (conn.logs('debug')) conn.log.debug({ err, event: 'socket-error' }, 'socket error');
    };
    const closed = (ws: WebSocket, code: number): void => this.closedSocket(ws, code);
    this.onClose = function (this: WebSocket, code: number): void {
      closed(this, code);
    };

    this.onUpgrade = createUpgradeHandler({
      route: (pathname, offered) => routeUpgrade(config, pathname, offered),
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      logger,
      authenticator: o.authenticator,
      checkOrigin: o.checkOrigin,
      perIp: o.perIp,
      refusing: () => this.closed || o.draining(),
      clientAddress: createClientAddress(config.trustProxy),
      baseUrl: o.baseUrl,
      wss: this.wss,
      accept: (ws, ip, principal, edge, needsToken) => this.accept(ws, ip, principal, edge, needsToken),
      handshakeDone: (socket) => o.pending.settle(socket),
    });
  }

  /** Open connections. */
  get size(): number {
    return this.connections.size;
  }

  /** The open connections (a live view: iterate it, do not keep it). */
  all(): ReadonlySet<Connection> {
    return this.connections;
  }

  /** Resolves once no connection is open (at once when none is). */
  whenEmpty(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  /**
   * Closes `conn` (code, reason) as an unexpected end: its member is reserved for resume now, not
   * when the close handshake completes, since a signal written to a closing socket is dropped
   * while a reserved member's signals are queued for its resume.
   */
  drop(conn: Connection, code: number, reason: string): void {
    conn.end('abnormal', code, reason);
    this.o.hub.disconnected(conn, 'abnormal');
  }

  /** From now on every upgrade is refused and every socket accepted is terminated; terminates the open ones. Idempotent. */
  close(): void {
    this.closed = true;
    for (const conn of this.connections) conn.ws.terminate();
  }

  private accept(ws: WebSocket, ip: string, principal: Principal, edge: Edge, needsToken: boolean): void {
    const { config, logger, metrics, now } = this.o;
    const session = sessionId();
    const conn = new Connection(ws, session, ip, principal, logger, config.limits, metrics, now);
    this.connections.add(conn);
    this.connOf.set(ws, conn);
    if (conn.logs('debug')) conn.log.debug({ event: 'connected', ip, protocol: ws.protocol }, 'connected');
    // The upgrade's async part (authentication) may have outlived the server.
    if (this.closed) ws.terminate();

    const compat = edge.kind === 'v1' ? undefined : attachEdge(conn, edge, needsToken, { config, authenticator: this.o.authenticator, dispatch: this.dispatch, relaySignalData: this.relaySignalData, now });
    const dispatch = this.dispatch;
    if (compat === undefined) {
      ws.on('message', (data, isBinary) => {
        conn.traffic |= HEARD;
        dispatch(conn, data as Buffer, isBinary);
      });
    } else {
      ws.on('message', (data, isBinary) => {
        conn.traffic |= HEARD;
        try {
          compat.inbound(data as Buffer, isBinary);
        } catch (err) {
          fault(conn, err);
        }
      });
    }
    ws.on('pong', this.onPong);
    ws.on('ping', this.onPing);
    ws.on('error', this.onSocketError);
    ws.on('close', this.onClose);

    conn.send({
      type: 'welcome',
      session,
      protocol: PROTOCOL_VERSION,
      iceServers: iceServersFor(config.ice, principal.sub ?? session, now()),
      heartbeatMs: config.heartbeatMs,
    });
    if (this.o.draining()) conn.send({ type: 'bye', reason: 'shutdown', reconnectMs: config.reconnectMs });
    compat?.start();
  }

  private closedSocket(ws: WebSocket, code: number): void {
    const conn = this.connOf.get(ws);
    if (conn === undefined) return;
    this.connOf.delete(ws);
    this.connections.delete(conn);
    this.o.perIp.release(conn.ip);
    conn.codec?.close();
    // The client's own clean close is a deliberate goodbye; anything else may come back.
    const kind: EndKind = conn.endKind ?? (code === 1000 || code === 1001 ? 'clean' : 'abnormal');
    if (conn.logs('debug')) conn.log.debug({ event: 'closed', code, kind }, 'connection closed');
    this.o.hub.disconnected(conn, kind);
    if (this.connections.size === 0 && this.emptyWaiters.length > 0) {
      const waiters = this.emptyWaiters;
      this.emptyWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
