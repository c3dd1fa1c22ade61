/**
 * The signaling server: one port for HTTP (health, readiness, metrics, ICE servers) and the
 * WebSocket protocol v1 at `config.path`. `startServer` listens and resolves once bound; port 0
 * works (the chosen port is in `port`/`url`). See docs/protocol.md.
 */
import { pino, type Logger } from 'pino';
import { createOriginCheck } from '../auth/origins.js';
import { iceServersFor } from '../auth/ice-servers.js';
import { allowAll } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { SigctlError } from '../protocol/errors.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/store.js';
import { StunResponder } from '../stun/responder.js';
import { createDrain } from './drain.js';
import { FrontDoor, sessionId } from './front-door.js';
import { guardConnections } from './handshake.js';
import { startHeartbeat } from './heartbeat.js';
import { createRequestHandler } from './http.js';
import { Hub } from './hub.js';
import { adminRoutes } from './admin.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { createListener } from './listener.js';
import { ServerMetrics } from './metrics.js';
import { createNodeLoad } from './node-load.js';
import { ServerPhase } from './phase.js';
import { ConnectionCounter } from './rate-limit.js';
import { coreRoutes } from './routes.js';
import { Teardown } from './teardown.js';
import { loadWebApp } from './web.js';
import type { ServerDeps, SignalingServer } from './api.js';
import { fanOut, safeSink, type RoomEventSink } from './room-events.js';

export type { ServerDeps, SignalingServer } from './api.js';

const silentLogger = (): Logger => pino({ enabled: false });

/**
 * Starts a signaling server. Rejects with SigctlError(LISTEN_FAILED) when it cannot bind (what was
 * made by then is torn down). This function wires the parts and nothing else: the listening socket
 * (./listener.ts), the HTTP route table (./http.ts, ./routes.ts), the WebSocket front door
 * (./front-door.ts), the heartbeat (./heartbeat.ts), the drain (./drain.ts) and the one teardown
 * (./teardown.ts), along the server's phases (./phase.ts).
 */
export async function startServer(config: Readonly<Config>, deps: ServerDeps = {}): Promise<SignalingServer> {
  const logger = deps.logger ?? silentLogger();
  const now = deps.now ?? Date.now;
  const store: Store = deps.store ?? new MemoryStore({ nodeId: sessionId(), now });
  const authenticator = deps.authenticator ?? allowAll;
  const metrics = new ServerMetrics({ processMetrics: deps.processMetrics === true });
  const phase = new ServerPhase();
  const teardown = new Teardown(phase, logger);
  if (deps.store === undefined) teardown.own({ ownStore: store });
  const draining = (): boolean => phase.drained;

  // Readiness follows the store (GET /readyz reads store.healthy); liveness never does.
  teardown.own({
    stop: store.onHealth((health) => {
      if (health === 'down') logger.warn({ event: 'store-down' }, 'room store unreachable: joins refused, /readyz 503');
      else logger.info({ event: 'store-up' }, 'room store reachable again');
    }),
  });
  // Room events to the configured webhook receivers (docs/operations.md) and to deps.events; closed after the hub.
  const webhooks = config.webhooks.length === 0 ? undefined : new WebhookDispatcher({ receivers: config.webhooks, node: store.nodeId, capacity: (room) => store.capacity(room), logger, registry: metrics.registry });
  const sinks = [deps.events, webhooks?.sink].filter((s) => s !== undefined);
  const events: RoomEventSink | undefined = sinks.length === 0 ? undefined : sinks.length === 1 ? sinks[0] : fanOut(sinks.map((sink) => safeSink(sink, logger)));
  const hub = new Hub({ config, store, metrics, logger, now, isDraining: draining, ...(events === undefined ? {} : { events }) });
  teardown.own({ hub });
  if (webhooks !== undefined) {
    teardown.own({
      close: async () => {
        // Events of the last leaves get a moment to go out; then what is left is dropped (counted).
        await webhooks.drain(1000);
        webhooks.close();
      },
    });
  }

  const fail = async (err: unknown): Promise<never> => {
    await teardown.run().catch(() => undefined);
    throw err;
  };
  const web = config.web.enabled ? await loadWebApp({ wsPath: config.path }) : undefined;
  if (config.web.enabled && web === undefined) logger.warn({ event: 'web-missing' }, 'web.enabled but the browser app is not built (npm run build): / answers 404');
  const listener = await createListener(config, logger).catch(fail);
  teardown.own({ listener });
  const { server } = listener;

  const perIp = new ConnectionCounter(config.limits.maxConnectionsPerIp);
  const handshakeMs = config.limits.handshakeTimeoutMs;
  const pending = guardConnections(server, { tls: listener.tls, timeoutMs: handshakeMs, maxPerIp: config.limits.maxConnectionsPerIp, openFrom: (ip) => perIp.count(ip), logger });
  teardown.own({ pending });
  const frontDoor = new FrontDoor({ config, logger, hub, metrics, authenticator, checkOrigin: deps.checkOrigin ?? createOriginCheck(config.origins), now, perIp, pending, baseUrl: () => listener.httpUrl(), draining });
  teardown.own({ frontDoor });
  server.on('upgrade', frontDoor.onUpgrade);
  metrics.observeSizes(() => ({ connections: frontDoor.size, ...hub.size, nodeLinks: store.linkedNodes?.() ?? 0 }));
  const nodeLoad = createNodeLoad({ config, store, now, connections: () => frontDoor.size, rooms: () => hub.size.rooms, wsUrl: () => listener.wsUrl() });

  // The route table: the built-in routes; other route modules (e.g. an admin API) are added here.
  const routes = coreRoutes({
    metrics,
    authenticator,
    isDraining: draining,
    storeHealthy: () => store.healthy,
    iceServers: (user) => iceServersFor(config.ice, user ?? sessionId(), now()),
    nodes: () => nodeLoad.nodes(),
  });
  routes.push(...adminRoutes({ authenticator, store, now, control: hub }));
  server.on('request', createRequestHandler({ routes, logger, baseUrl: () => new URL(listener.httpUrl()), wsPath: config.path, web }));
  teardown.own({ stop: startHeartbeat({ everyMs: config.heartbeatMs, connections: () => frontDoor.all(), drop: (conn, code, reason) => frontDoor.drop(conn, code, reason) }) });

  await listener.listen().catch(fail);
  let stunPort: number | undefined;
  if (config.stunPort !== undefined) {
    const stun = new StunResponder({ logger, software: 'sigctl' });
    teardown.own({ stun });
    stunPort = await stun.start(config.stunPort, config.host).then(
      (bound) => bound.port,
      (err: unknown) =>
        fail(new SigctlError('LISTEN_FAILED', `cannot bind the STUN responder on udp ${config.host}:${config.stunPort}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })),
    );
  }
  // A shared store publishes this node's load with its own heartbeat; keep it current.
  teardown.own({ stop: nodeLoad.report() });
  phase.transition('serving');
  logger.info({ event: 'listening', url: listener.httpUrl(), ws: listener.wsUrl(), node: store.nodeId }, 'listening');

  const close = (): Promise<void> => teardown.run();
  return {
    url: listener.wsUrl(),
    httpUrl: listener.httpUrl(),
    port: listener.port,
    host: config.host,
    stunPort,
    webUrl: web === undefined ? undefined : `${listener.httpUrl()}/`,
    get draining() {
      return draining();
    },
    drain: createDrain({ config, logger, phase, frontDoor, hub, teardown }),
    close,
    metrics: () => metrics.text(),
    kick: (room, memberId) => hub.kick(room, memberId),
    closeRoom: (room) => hub.closeRoom(room),
  };
}

/** The logger the CLI gives the server (JSON or readable lines). */
export { createServerLogger, type LogOutput } from './logger.js';

/** The default store and the interface a custom `deps.store` implements. */
export { MemoryStore } from '../store/memory.js';
export type { Store } from '../store/store.js';
