/**
 * What `sigctl serve` does once its flags are parsed: load config, start the store and server,
 * print the banner, drain on the first signal. Loaded on demand by serve.ts so that other
 * commands (and --help) never pay for the server's modules (pino, prom-client, ws, node-redis).
 */
import type { FlagValue } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { loadConfig } from '../../config/load.js';
import { placeholderSecrets } from '../../config/placeholders.js';
import { SigctlError } from '../../protocol/errors.js';
import { createAuthenticator, exposureWarnings } from '../../auth/index.js';
import { createServerLogger, startServer, type LogOutput, type SignalingServer } from '../../server/index.js';
import { createStore } from '../../store/factory.js';
import type { CliContext } from '../context.js';
import type { GlobalOptions } from '../output.js';
import { printBanner } from '../serve-banner.js';

/** The parsed flags of `sigctl serve`. */
export interface ServeOptions {
  host?: string;
  port?: number;
  path?: string;
  logLevel?: string;
  logFormat?: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  capacity?: number;
  maxCapacity?: number;
  redis?: string;
  redisCluster?: string[];
  stunPort?: number;
  /** `--compat stomp,raw,broadcast`: each name switches on `compat.<name>`. */
  compat?: Array<'stomp' | 'raw' | 'broadcast'>;
  /** false with --no-web (commander's negated flag is true by default: only false overrides the config). */
  web?: boolean;
}

/** Flag -> config key; the flag text is what `config print` and error messages show. */
const FLAGS: ReadonlyArray<{ opt: Exclude<keyof ServeOptions, 'compat'>; flag: string; path: string }> = [
  { opt: 'host', flag: '--host', path: 'host' },
  { opt: 'port', flag: '--port', path: 'port' },
  { opt: 'path', flag: '--path', path: 'path' },
  { opt: 'logLevel', flag: '--log-level', path: 'logLevel' },
  { opt: 'logFormat', flag: '--log-format', path: 'logFormat' },
  { opt: 'publicUrl', flag: '--public-url', path: 'publicUrl' },
  { opt: 'tlsCert', flag: '--tls-cert', path: 'tls.cert' },
  { opt: 'tlsKey', flag: '--tls-key', path: 'tls.key' },
  { opt: 'capacity', flag: '--capacity', path: 'rooms.capacity' },
  { opt: 'maxCapacity', flag: '--max-capacity', path: 'rooms.maxCapacity' },
  { opt: 'redis', flag: '--redis', path: 'redis.url' },
  { opt: 'redisCluster', flag: '--redis-cluster', path: 'redis.cluster.nodes' },
  { opt: 'stunPort', flag: '--stun-port', path: 'stunPort' },
];

/**
 * The command-line flags of `serve` as config overrides. -q and -v set the log level (warnings
 * and errors only; debug; trace) unless --log-level names one.
 */
export function serveFlags(opts: ServeOptions & GlobalOptions): FlagValue[] {
  const flags: FlagValue[] = FLAGS.filter((f) => opts[f.opt] !== undefined).map((f) => ({ path: f.path, flag: f.flag, value: opts[f.opt] }));
  for (const name of opts.compat ?? []) flags.push({ path: `compat.${name}`, flag: '--compat', value: true });
  // commander's negated flag is true by default: only false overrides the config.
  if (opts.web === false) flags.push({ path: 'web.enabled', flag: '--no-web', value: false });
  if (opts.logLevel === undefined) {
    if (opts.quiet === true) flags.push({ path: 'logLevel', flag: '--quiet', value: 'warn' });
    else if ((opts.verbose ?? 0) > 0) flags.push({ path: 'logLevel', flag: '--verbose', value: (opts.verbose ?? 0) > 1 ? 'trace' : 'debug' });
  }
  return flags;
}

/** Refuses secrets copied from config.example.json (PLACEHOLDER_SECRET, exit 2). */
function refusePlaceholders(config: Readonly<Config>, sources: ReadonlyMap<string, string>, file: string | undefined): void {
  const keys = placeholderSecrets(config);
  if (keys.length === 0) return;
  const from = [...new Set(keys.map((k) => sources.get(k) ?? (file === undefined ? 'the configuration' : `file:${file}`)))];
  throw new SigctlError(
    'PLACEHOLDER_SECRET',
    `refusing to serve with placeholder secrets from config.example.json: ${keys.join(', ')} (from ${from.join(', ')})\n` +
      `  hint: replace each with a random value (openssl rand -base64 32), or remove the entry (docs/configuration.md)`,
    { details: { keys } },
  );
}

/** Pretty log lines on a terminal (logFormat auto), JSON otherwise. */
function logOutput(ctx: CliContext, config: Readonly<Config>): LogOutput {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && ctx.out.stderr.isTTY === true);
  return { format: pretty ? 'pretty' : 'json', color: ctx.out.color.level > 0 };
}

/** Runs the daemon until ctx.signal aborts, then drains; a completed drain exits 0 (systemd-friendly). */
export async function serve(ctx: CliContext, opts: ServeOptions & GlobalOptions): Promise<number> {
  const { config, sources, file } = await loadConfig({ configFile: opts.config, cwd: ctx.cwd, env: ctx.env, flags: serveFlags(opts) });
  refusePlaceholders(config, sources, file);
  if (ctx.signal.aborted) return 0;
  // The first SIGINT/SIGTERM is how a daemon is told to stop: a completed drain is a success.
  ctx.signalEndsNormally();
  // Exposed beyond loopback without auth, origin checks or TLS: say so before serving.
  for (const warning of exposureWarnings(config)) ctx.out.warn(warning);
  const logger = createServerLogger(config.logLevel, ctx.out.stderr, logOutput(ctx, config));
  const authenticator = createAuthenticator(config.auth);
  // Memory by default; Redis (shared with other nodes) when redis.url, sentinel or cluster is set. Throws UNAVAILABLE
  // when Redis cannot be reached at start.
  const store = await createStore(config, { logger });
  let server: SignalingServer;
  try {
    server = await startServer(config, { logger, authenticator, store, processMetrics: true });
  } catch (err) {
    await store.close();
    throw err;
  }
  ctx.onForceExit(() => {
    logger.warn({ event: 'force-exit' }, 'second signal: exiting at once');
    void server.close();
  });
  printBanner(ctx.out, { server, compat: config.compat, path: config.path });
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info({ event: 'signal', signal: String(ctx.signal.reason) }, 'shutting down');
  await server.drain();
  await store.close();
  return 0;
}
