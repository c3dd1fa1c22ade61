/**
 * `sigctl serve`: runs the signaling daemon. Banner (where it listens) on stdout, pino JSON logs on
 * stderr. The first SIGINT/SIGTERM drains (bye, then close 1001 after drainMs); a second exits at once.
 * The work is in serve-run.ts, imported only when the command runs.
 */
import { Option } from 'commander';
import { intOption, type RegisterCommand } from '../command.js';
import type { ServeOptions } from './serve-run.js';

/** Registers `sigctl serve`. */
export const registerServe: RegisterCommand = (program, run) => {
  program
    .command('serve')
    .description('run the signaling daemon (HTTP + WebSocket on one port)')
    .option('--host <host>', 'address to listen on (config: host, default 127.0.0.1)')
    .option('--port <port>', 'TCP port; 0 picks a free one (config: port, default 8080)', intOption(0, 65535))
    .option('--path <path>', 'WebSocket path (config: path, default /ws)')
    .addOption(new Option('--log-level <level>', 'log level (config: logLevel)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--tls-cert <file>', 'PEM certificate: serve https/wss (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key (with --tls-cert)')
    .option('--capacity <n>', 'default room capacity (config: rooms.capacity, default 2)', intOption(1))
    .option('--max-capacity <n>', 'largest capacity a join may ask for (config: rooms.maxCapacity, default 16)', intOption(1))
    .option('--redis <url>', 'share rooms with other nodes through Redis (config: redis.url; docs/scaling.md)')
    .option('--stun-port <port>', 'also answer STUN Binding requests on this UDP port (config: stunPort)', intOption(0, 65535))
    .option('--no-web', 'do not serve the browser call app at / (config: web.enabled)')
    .option('--json', 'print the banner as one JSON line')
    .action(run<ServeOptions>(async (ctx, opts) => (await import('./serve-run.js')).serve(ctx, opts)));
};
