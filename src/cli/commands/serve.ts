/**
 * `sigctl serve`: runs the signaling daemon. Banner (where it listens) on stdout, logs on stderr
 * (readable lines on a terminal, pino JSON otherwise). The first SIGINT/SIGTERM drains (bye, then
 * close 1001 after drainMs) and exits 0; a second exits at once (130/143).
 * The work is in serve-run.ts, imported only when the command runs.
 */
import { Option } from 'commander';
import { intOption, listOption, type RegisterCommand } from '../command.js';
import type { ServeOptions } from './serve-run.js';

/** What `--compat` takes: each switches on `compat.<name>`. */
const COMPAT_PROTOCOLS = ['stomp', 'raw', 'broadcast'] as const;
const EXAMPLES = `
Examples:
  $ sigctl serve                                   # ws://127.0.0.1:8080/ws, logs on stderr
  $ sigctl serve --host 0.0.0.0 --port 9000        # every interface (set auth.jwt and origins first)
  $ sigctl serve --config sigctl.json --json       # a config file; the banner as one JSON line
  $ sigctl serve --redis redis://127.0.0.1:6379 --public-url wss://node-a.example.com/ws
  $ sigctl serve -q --log-format json 2>>sigctl.log
  $ sigctl serve --compat stomp,raw                # also Spring STOMP clients and /room/<id> relays (docs/compat.md)

Every flag has a config key and a SIGCTL_* variable (docs/configuration.md); flags win over the
environment, which wins over the file. SIGINT/SIGTERM drain the clients and exit 0; a second
signal exits at once (130/143).`;

/** Registers `sigctl serve`. */
export const registerServe: RegisterCommand = (program, run) => {
  program
    .command('serve')
    .description('run the signaling daemon (HTTP + WebSocket on one port)')
    .option('--host <host>', 'address to listen on; 0.0.0.0 or :: for every interface (config: host, default 127.0.0.1)')
    .option('--port <port>', 'TCP port; 0 picks a free one (config: port, default 8080)', intOption(0, 65535))
    .option('--path <path>', 'WebSocket path (config: path, default /ws)')
    .addOption(new Option('--log-level <level>', 'log level; -q means warn, -v debug (config: logLevel, default info)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(new Option('--log-format <format>', 'log lines on stderr: readable on a terminal, JSON otherwise (config: logFormat, default auto)').choices(['auto', 'pretty', 'json']))
    .option('--tls-cert <file>', 'PEM certificate: serve https/wss (with --tls-key; config: tls.cert, default off)')
    .option('--tls-key <file>', 'PEM private key (with --tls-cert; config: tls.key)')
    .option('--capacity <n>', 'default room capacity, at least 1 (config: rooms.capacity, default 2)', intOption(1))
    .option('--max-capacity <n>', 'largest capacity a join may ask for (config: rooms.maxCapacity, default 16)', intOption(1))
    .option('--redis <url>', 'share rooms with other nodes through Redis (config: redis.url, default off; docs/scaling.md)')
    .option('--redis-cluster <urls>', 'share rooms through a Redis Cluster: redis:// URLs of some of its nodes, comma-separated (config: redis.cluster.nodes; docs/scaling.md)', (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .option('--public-url <url>', "this node's WebSocket URL as clients reach it, listed by /v1/nodes (config: publicUrl)")
    .option('--stun-port <port>', 'also answer STUN Binding requests on this UDP port (config: stunPort, default off)', intOption(0, 65535))
    .option('--compat <protocols>', 'also speak the protocols of existing servers: stomp, raw, broadcast, comma-separated (config: compat.*, default none; docs/compat.md)', listOption(COMPAT_PROTOCOLS))
    .option('--no-web', 'do not serve the browser call app at / (config: web.enabled, default on)')
    .option('--json', 'print the banner as one JSON line')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXAMPLES)
    .action(run<ServeOptions>(async (ctx, opts) => (await import('./serve-run.js')).serve(ctx, opts)));
};
