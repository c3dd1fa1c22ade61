/**
 * The signaling server: one port for HTTP (health, readiness, metrics, ICE servers) and the
 * WebSocket protocol v1 at `config.path`. `startServer` listens and resolves once bound; port 0
 * works (the chosen port is in `port`/`url`). See docs/protocol.md.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pino, type Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { allowAll, type Authenticator, type Principal } from '../auth/principal.js';
import { createOriginCheck } from '../auth/origins.js';
import { iceServersFor } from '../auth/ice-servers.js';
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import { SigctlError } from '../protocol/errors.js';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../protocol/version.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/store.js';
import { Connection, HEARD, SPOKE, type EndKind } from './connection.js';
import { attachEdge } from './compat/attach.js';
import { routeUpgrade, type Edge } from './compat/routes.js';
import { STOMP_SUBPROTOCOLS } from './compat/stomp-session.js';
import { createDispatcher, fault } from './dispatch.js';
import { createRequestHandler } from './http.js';
import { createUpgradeHandler } from './upgrade.js';
import { guardConnections } from './handshake.js';
import { Hub } from './hub.js';
import { adminRoutes, type RoomControl } from './admin.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { ServerMetrics } from './metrics.js';
import { ConnectionCounter } from './rate-limit.js';
import { createClientAddress } from './client-address.js';
import { StunResponder } from './stun-responder.js';
import { loadWebApp } from './web.js';

/** What the server is built from; every field is optional. */
export interface ServerDeps {
  /** Structured logger; default: no logging (the CLI passes a stderr logger). */
  logger?: Logger;
  /** Room store; default: a new MemoryStore, closed with the server. A given store is not closed. */
  store?: Store;
  /** Verifies upgrades and /v1/ice-servers; default: allowAll. */
  authenticator?: Authenticator;
  /** Browser origin check; default: createOriginCheck(config.origins) from src/auth/origins.ts. */
  checkOrigin?: (origin: string | undefined) => boolean;
  /** Clock in unix ms (resume expiry, TURN credentials, rate limits). */
  now?: () => number;
  /** Adds prom-client's process metrics (CPU, memory, event-loop lag, GC) to /metrics; the CLI does. */
  processMetrics?: boolean;
}

/** A running server. */
export interface SignalingServer {
  /** WebSocket URL, e.g. ws://127.0.0.1:8080/ws. */
  readonly url: string;
  /** HTTP base URL, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  readonly port: number;
  readonly host: string;
  readonly draining: boolean;
  /** UDP port of the built-in STUN responder, when `config.stunPort` is set. */
  readonly stunPort: number | undefined;
  /** URL of the browser app (docs/web.md), when `web.enabled` and the app is built. */
  readonly webUrl: string | undefined;
  /** Graceful shutdown: readyz 503, upgrades refused, `bye` to everyone, close 1001 after `config.drainMs`. */
  drain(): Promise<void>;
  /** Immediate shutdown: terminates every socket and stops listening. Idempotent. */
  close(): Promise<void>;
  /** The Prometheus text of this server (what GET /metrics returns). */
  metrics(): Promise<string>;
}

const silentLogger = (): Logger => pino({ enabled: false });

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function sessionId(): string {
  // 64 random bits, URL-safe: short on the wire (every relayed signal carries it).
  return randomBytes(8).toString('base64url');
}

/** Starts a signaling server. Rejects with SigctlError(LISTEN_FAILED) when it cannot bind. */
export async function startServer(config: Readonly<Config>, deps: ServerDeps = {}): Promise<SignalingServer> {
  const logger = deps.logger ?? silentLogger();
  const now = deps.now ?? Date.now;
  const ownStore = deps.store === undefined;
  const store: Store = deps.store ?? new MemoryStore({ nodeId: sessionId(), now });
  const authenticator = deps.authenticator ?? allowAll;
  const checkOrigin = deps.checkOrigin ?? createOriginCheck(config.origins);
  const metrics = new ServerMetrics({ processMetrics: deps.processMetrics === true });
  const perIp = new ConnectionCounter(config.limits.maxConnectionsPerIp);
  const connections = new Set<Connection>();
  let draining = false;
  let closed = false;
  let boundPort = config.port;
  const tls = config.tls.cert !== undefined && config.tls.key !== undefined;

  // Room events to the configured webhook receivers (docs/operations.md), closed in close().
  const webhooks = config.webhooks.length === 0 ? undefined : new WebhookDispatcher({ receivers: config.webhooks, node: store.nodeId, capacity: (room) => store.capacity(room), logger, registry: metrics.registry });
  const hub = new Hub({ config, store, metrics, logger, now, isDraining: () => draining, ...(webhooks === undefined ? {} : { events: webhooks.sink }) });
  const startedAt = now();
  // The URL other nodes' clients are sent to: publicUrl, else the listen URL (useless on a wildcard host).
  const nodeUrl = (): string | undefined => config.publicUrl ?? (/^(0\.0\.0\.0|::|\[::\])$/.test(config.host) ? undefined : wsUrl());
  const load = (): { connections: number; rooms: number; url: string | undefined } => ({ connections: connections.size, rooms: hub.size.rooms, url: nodeUrl() });
  // Readiness follows the store (GET /readyz reads store.healthy); liveness never does.
  const offHealth = store.onHealth((health) => {
    if (health === 'down') logger.warn({ event: 'store-down' }, 'room store unreachable: joins refused, /readyz 503');
    else logger.info({ event: 'store-up' }, 'room store reachable again');
  });

  const web = config.web.enabled ? await loadWebApp({ wsPath: config.path }) : undefined;
  if (config.web.enabled && web === undefined) logger.warn({ event: 'web-missing' }, 'web.enabled but the browser app is not built (npm run build): / answers 404');

  // Node's own header and request timeouts match the handshake timeout (guardConnections reaps
  // half-sent upgrades; these bound plain HTTP requests), checked often enough to matter.
  const handshakeMs = config.limits.handshakeTimeoutMs;
  const httpOptions = { headersTimeout: handshakeMs, requestTimeout: handshakeMs, connectionsCheckingInterval: Math.min(handshakeMs, 1000) };
  let server: Server;
  try {
    server = tls
      ? createHttpsServer({ ...httpOptions, handshakeTimeout: handshakeMs, cert: await readFile(config.tls.cert!), key: await readFile(config.tls.key!) })
      : createHttpServer(httpOptions);
  } catch (err) {
    offHealth();
    hub.close();
    webhooks?.close();
    if (ownStore) await store.close();
    throw new SigctlError('LISTEN_FAILED', `cannot load TLS files: ${(err as Error).message}`, { cause: err });
  }
  const httpUrl = (): string => `${tls ? 'https' : 'http'}://${hostForUrl(config.host)}:${boundPort}`;
  const wsUrl = (): string => `${tls ? 'wss' : 'ws'}://${hostForUrl(config.host)}:${boundPort}${config.path}`;

  const pending = guardConnections(server, { tls, timeoutMs: handshakeMs, maxPerIp: config.limits.maxConnectionsPerIp, openFrom: (ip) => perIp.count(ip), logger });
  server.on(
    'request',
    createRequestHandler({
      metrics,
      logger,
      authenticator,
      isDraining: () => draining,
      storeHealthy: () => store.healthy,
      iceServers: (user) => iceServersFor(config.ice, user ?? sessionId(), now()),
      refreshGauges: () => {
        const { rooms, members } = hub.size;
        metrics.rooms.set(rooms);
        metrics.members.set(members);
        metrics.connections.set(connections.size);
      },
      baseUrl: () => new URL(httpUrl()),
      wsPath: config.path,
      // Until issue 12's hub (kick, closeRoom) is merged this hub may have no operator controls.
      admin: adminRoutes({ authenticator, store, now, control: typeof (hub as Partial<RoomControl>).kick === 'function' ? (hub as unknown as RoomControl) : undefined }),
      nodes: () => (store.nodes !== undefined ? store.nodes() : Promise.resolve([{ id: store.nodeId, ...load(), startedAt, updatedAt: now() }])),
      web,
    }),
  );
  const wss = new WebSocketServer({
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
  wss.on('wsClientError', (err, socket) => {
    logger.debug({ err }, 'bad websocket handshake');
    socket.destroy();
  });

  // The rare events of every socket share one listener each, finding their connection here;
  // only 'message' (the hot path) gets a closure of its own. Thousands of sockets stay open, and
  // three closures per socket cost more memory than this map's entry.
  const connOf = new WeakMap<WebSocket, Connection>();
  function onPong(this: WebSocket): void {
    const conn = connOf.get(this);
    if (conn !== undefined) conn.missedPongs = 0;
  }
  function onPing(this: WebSocket, data: Buffer): void {
    connOf.get(this)?.answerPing(data);
  }
  function onSocketError(this: WebSocket, err: Error): void {
    const conn = connOf.get(this);
    if (conn === undefined) return;
    // ws reports client protocol violations here (oversized frame, bad UTF-8, bad opcode) and
    // closes the socket itself: the member leaves at once, as for any misbehaviour.
    conn.endKind ??= 'kicked';
    if (conn.logs('debug')) conn.log.debug({ err, event: 'socket-error' }, 'socket error');
  }
  function onClose(this: WebSocket, code: number): void {
    const conn = connOf.get(this);
    if (conn === undefined) return;
    connOf.delete(this);
    connections.delete(conn);
    perIp.release(conn.ip);
    metrics.connections.dec();
    conn.codec?.close();
    // The client's own clean close is a deliberate goodbye; anything else may come back.
    const kind: EndKind = conn.endKind ?? (code === 1000 || code === 1001 ? 'clean' : 'abnormal');
    if (conn.logs('debug')) conn.log.debug({ event: 'closed', code, kind }, 'connection closed');
    hub.disconnected(conn, kind);
    conn.state = 'closed';
  }

  const accept = (ws: WebSocket, ip: string, principal: Principal, edge: Edge, needsToken: boolean): void => {
    const session = sessionId();
    const conn = new Connection(ws, session, ip, principal, logger, config.limits, metrics, now);
    connections.add(conn);
    connOf.set(ws, conn);
    metrics.connections.inc();
    if (conn.logs('debug')) conn.log.debug({ event: 'connected', ip, protocol: ws.protocol }, 'connected');
    if (closed) {
      ws.terminate();
    }

    const compat = edge.kind === 'v1' ? undefined : attachEdge(conn, edge, needsToken, { config, authenticator, dispatch: onMessage, now });
    if (compat === undefined) {
      ws.on('message', (data, isBinary) => {
        conn.traffic |= HEARD;
        onMessage(conn, data as Buffer, isBinary);
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
    ws.on('pong', onPong);
    ws.on('ping', onPing);
    ws.on('error', onSocketError);
    ws.on('close', onClose);

    conn.send({
      type: 'welcome',
      session,
      protocol: PROTOCOL_VERSION,
      iceServers: iceServersFor(config.ice, principal.sub ?? session, now()),
      heartbeatMs: config.heartbeatMs,
    });
    if (draining) conn.send({ type: 'bye', reason: 'shutdown', reconnectMs: config.reconnectMs });
    compat?.start();
  };

  const onMessage = createDispatcher(config, hub, metrics);

  // Liveness: ping every heartbeatMs; two unanswered pings close the connection (4010) and count
  // as an unexpected disconnect (the member is reserved for resume). A connection whose frames
  // went both ways since the last tick is spared its ping: the client just proved it is alive, and
  // just received traffic of its own, so it still hears from us at least every 2 x heartbeatMs.
  // In a busy room that saves a ping and a pong per member per period.
  const heartbeat = setInterval(() => {
    for (const conn of connections) {
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
        conn.end('abnormal', CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        hub.disconnected(conn, 'abnormal');
        conn.state = 'closed';
        setTimeout(() => conn.ws.terminate(), 1000).unref();
        continue;
      }
      conn.missedPongs++;
      conn.ws.ping();
    }
  }, config.heartbeatMs);
  heartbeat.unref();
  // A shared store publishes this node's load with its own heartbeat; keep it current.
  const loadTimer = store.reportLoad === undefined ? undefined : setInterval(() => store.reportLoad?.(load()), 1000);
  loadTimer?.unref();

  server.on(
    'upgrade',
    createUpgradeHandler({
      route: (pathname, offered) => routeUpgrade(config, pathname, offered),
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      logger,
      authenticator,
      checkOrigin,
      perIp,
      refusing: () => draining || closed,
      clientAddress: createClientAddress(config.trustProxy),
      baseUrl: httpUrl,
      wss,
      accept,
      handshakeDone: (socket) => pending.settle(socket),
    }),
  );

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new SigctlError('LISTEN_FAILED', `cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(config.port, config.host, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch(async (err: unknown) => {
    clearInterval(heartbeat);
    clearInterval(loadTimer);
    offHealth();
    hub.close();
    webhooks?.close();
    if (ownStore) await store.close();
    throw err;
  });
  server.on('error', (err) => logger.error({ err }, 'server error'));
  let stun: StunResponder | undefined;
  let stunPort: number | undefined;
  if (config.stunPort !== undefined) {
    stun = new StunResponder({ logger, software: 'sigctl' });
    try {
      stunPort = (await stun.start(config.stunPort, config.host)).port;
    } catch (err) {
      clearInterval(heartbeat);
      clearInterval(loadTimer);
      offHealth();
      hub.close();
      webhooks?.close();
      await stun.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownStore) await store.close();
      throw new SigctlError('LISTEN_FAILED', `cannot bind the STUN responder on udp ${config.host}:${config.stunPort}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  }
  const address = server.address();
  if (address !== null && typeof address === 'object') boundPort = address.port;

  let closing: Promise<void> | undefined;
  let drainPromise: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(loadTimer);
      offHealth();
      hub.beginClose();
      pending.close();
      for (const conn of connections) conn.ws.terminate();
      // Members of a shared store would otherwise stay in their rooms for good.
      if (hub.shared) await hub.releaseAll(1000);
      hub.close();
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), stun?.close()]);
      // Events of the last leaves get a moment to go out; then what is left is dropped (counted).
      await webhooks?.drain(1000);
      webhooks?.close();
      if (ownStore) await store.close();
      logger.info({ event: 'closed' }, 'server closed');
    })();
    return closing;
  };

  const drain = (): Promise<void> => {
    drainPromise ??= (async () => {
      if (closed) return;
      draining = true;
      logger.info({ event: 'draining', drainMs: config.drainMs, connections: connections.size }, 'draining');
      for (const conn of connections) conn.send({ type: 'bye', reason: 'shutdown', reconnectMs: config.reconnectMs });
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.drainMs).unref());
      // Finish early when every client has gone on its own.
      const empty = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (connections.size === 0 || closed) {
            clearInterval(check);
            resolve();
          }
        }, 50);
        check.unref();
        void deadline.then(() => {
          clearInterval(check);
          resolve();
        });
      });
      await Promise.race([deadline, empty]);
      for (const conn of connections) {
        conn.end('abnormal', CloseCode.GOING_AWAY, 'server shutting down');
        // Reserve the member now, not when the close handshake completes: a signal written to a
        // closing socket is dropped, while a reserved member's signals are queued for its resume.
        hub.disconnected(conn, 'abnormal');
        conn.state = 'closed';
      }
      // Give close handshakes a moment, then stop everything.
      const t0 = Date.now();
      while (connections.size > 0 && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 20));
      if (hub.shared && hub.size.members > 0) {
        // The members just closed are reserved: let them resume on other nodes (or time out and
        // be announced) before this node goes away.
        logger.info({ event: 'settling', members: hub.size.members, graceMs: config.rooms.resumeGraceMs }, 'waiting for reserved members');
        await hub.settle(config.rooms.resumeGraceMs + 500);
      }
      await close();
    })();
    return drainPromise;
  };

  const host = config.host;
  const port = boundPort;
  store.reportLoad?.(load());
  logger.info({ event: 'listening', url: httpUrl(), ws: wsUrl(), node: store.nodeId }, 'listening');
  return {
    url: wsUrl(),
    httpUrl: httpUrl(),
    port,
    host,
    stunPort,
    webUrl: web === undefined ? undefined : `${httpUrl()}/`,
    get draining() {
      return draining;
    },
    drain,
    close,
    metrics: () => {
      const { rooms, members } = hub.size;
      metrics.rooms.set(rooms);
      metrics.members.set(members);
      metrics.connections.set(connections.size);
      return metrics.text();
    },
  };
}


/** The logger the CLI gives the server (JSON or readable lines). */
export { createServerLogger, type LogOutput } from './logger.js';

/** The default store and the interface a custom `deps.store` implements. */
export { MemoryStore } from '../store/memory.js';
export type { Store } from '../store/store.js';
