/**
 * What `sigctl serve` does once its flags are parsed: load config, start the store and server,
 * print the banner, drain on the first signal. Loaded on demand by serve.ts so that other
 * commands (and --help) never pay for the server's modules (pino, prom-client, ws, node-redis).
 */
import type { FlagValue } from '../../config/load.js';
import { loadConfig } from '../../config/load.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { createAuthenticator, exposureWarnings } from '../../auth/index.js';
import { createServerLogger, startServer, type SignalingServer } from '../../server/index.js';
import { createStore } from '../../store/factory.js';
import { reachableUrl } from '../reachable.js';
import type { CliContext } from '../context.js';
import type { GlobalOptions } from '../output.js';

/** The parsed flags of `sigctl serve`. */
export interface ServeOptions {
  host?: string;
  port?: number;
  path?: string;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
  capacity?: number;
  maxCapacity?: number;
  redis?: string;
  stunPort?: number;
  /** false with --no-web (commander's negated flag is true by default: only false overrides the config). */
  web?: boolean;
}

/** Flag -> config key; the flag text is what `config print` and error messages show. */
const FLAGS: ReadonlyArray<{ opt: keyof ServeOptions; flag: string; path: string }> = [
  { opt: 'host', flag: '--host', path: 'host' },
  { opt: 'port', flag: '--port', path: 'port' },
  { opt: 'path', flag: '--path', path: 'path' },
  { opt: 'logLevel', flag: '--log-level', path: 'logLevel' },
  { opt: 'tlsCert', flag: '--tls-cert', path: 'tls.cert' },
  { opt: 'tlsKey', flag: '--tls-key', path: 'tls.key' },
  { opt: 'capacity', flag: '--capacity', path: 'rooms.capacity' },
  { opt: 'maxCapacity', flag: '--max-capacity', path: 'rooms.maxCapacity' },
  { opt: 'redis', flag: '--redis', path: 'redis.url' },
  { opt: 'stunPort', flag: '--stun-port', path: 'stunPort' },
];

/** The command-line flags of `serve` as config overrides. */
export function serveFlags(opts: ServeOptions): FlagValue[] {
  const flags = FLAGS.filter((f) => opts[f.opt] !== undefined).map((f) => ({ path: f.path, flag: f.flag, value: opts[f.opt] }));
  return opts.web === false ? [...flags, { path: 'web.enabled', flag: '--no-web', value: false }] : flags;
}

function banner(ctx: CliContext, server: SignalingServer): void {
  const endpoints = {
    listen: server.httpUrl,
    ws: server.url,
    healthz: `${server.httpUrl}/healthz`,
    readyz: `${server.httpUrl}/readyz`,
    metrics: `${server.httpUrl}/metrics`,
    iceServers: `${server.httpUrl}/v1/ice-servers`,
    ...(server.stunPort === undefined ? {} : { stun: `stun:${server.host}:${server.stunPort}` }),
    ...(server.webUrl === undefined ? {} : { app: reachableUrl(server.webUrl) }),
  };
  if (ctx.out.json) {
    ctx.out.jsonLine({ type: 'listening', protocol: PROTOCOL_VERSION, host: server.host, port: server.port, ...endpoints });
    return;
  }
  const c = ctx.out.color;
  ctx.out.result(`sigctl serve listening on ${c.bold(endpoints.listen)} (protocol v${PROTOCOL_VERSION})`);
  ctx.out.result(`  websocket  ${endpoints.ws}`);
  ctx.out.result(`  health     ${endpoints.healthz}`);
  ctx.out.result(`  ready      ${endpoints.readyz}`);
  ctx.out.result(`  metrics    ${endpoints.metrics}`);
  ctx.out.result(`  ice        ${endpoints.iceServers}`);
  if (endpoints.stun !== undefined) ctx.out.result(`  stun       ${endpoints.stun} (udp)`);
  if (endpoints.app !== undefined) ctx.out.result(`  app        ${c.bold(endpoints.app)} (open in a browser)`);
}

/** Runs the daemon until ctx.signal aborts, then drains. */
export async function serve(ctx: CliContext, opts: ServeOptions & GlobalOptions): Promise<number> {
  const { config } = await loadConfig({ configFile: opts.config, cwd: ctx.cwd, env: ctx.env, flags: serveFlags(opts) });
  if (ctx.signal.aborted) return 0;
  // Exposed beyond loopback without auth, origin checks or TLS: say so before serving.
  for (const warning of exposureWarnings(config)) ctx.out.warn(warning);
  const logger = createServerLogger(config.logLevel, ctx.out.stderr);
  const authenticator = createAuthenticator(config.auth);
  // Memory by default; Redis (shared with other nodes) when redis.url is set. Throws UNAVAILABLE
  // when Redis cannot be reached at start.
  const store = await createStore(config, { logger });
  let server: SignalingServer;
  try {
    server = await startServer(config, { logger, authenticator, store });
  } catch (err) {
    await store.close();
    throw err;
  }
  ctx.onForceExit(() => {
    logger.warn({ event: 'force-exit' }, 'second signal: exiting at once');
    void server.close();
  });
  banner(ctx, server);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info({ event: 'signal', signal: String(ctx.signal.reason) }, 'shutting down');
  await server.drain();
  await store.close();
  return 0;
}

