/**
 * `sigctl bench [connect|throughput|signaling]`: join latency, data-channel throughput and
 * signaling load against a deployment (`--url`) or a local server, with CI gates (exit 3).
 * `sigctl bench floor` (hidden) runs the floor relay in the foreground for comparisons.
 * The work is in bench-run.ts, imported only when the command runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ENGINES } from '../../bench/peer-messages.js';
import { BENCH_PROTOCOLS } from '../../bench/signaling-messages.js';
import { SPREADS } from '../../bench/spread.js';
import { intOption, numberOption, type RegisterCommand } from '../command.js';
import type { BenchOptions } from './bench-run.js';

/** Every run stops by itself: one window lasts at most an hour. */
function durationOption(value: string): number {
  const n = numberOption(0.1)(value);
  if (n > 3600) throw new InvalidArgumentError('expected at most 3600 seconds.');
  return n;
}

/** Collects a repeatable option. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const registerBench: RegisterCommand = (program, run) => {
  program
    .command('bench')
    .description('benchmark a deployment: join latency (connect), data-channel throughput, signaling load; gates for CI (exit 3)')
    .argument('[scenario]', 'connect (default), throughput or signaling', 'connect')
    .option(
      '--url <url>',
      'ws:// or wss:// URL of a running deployment; repeat it for the nodes of a multi-node deployment (clients are spread round-robin, so rooms span nodes); SIGCTL_TOKEN is sent as its bearer token (default: start a local sigctl serve on 127.0.0.1, port 0)',
      collect,
    )
    .option('--pairs <P>', 'connect/throughput: peer pairs, one room each (default 10 for connect, 1 for throughput)', intOption(1, 1000))
    .option('--duration <S>', 'throughput/signaling: seconds per measurement window, at most 3600 (default 10)', durationOption)
    .option('--message-size <BYTES>', 'throughput: data-channel message size, at most 65536 (default 16384)', intOption(1, 65_536))
    .option('--unordered', 'throughput: unordered (still reliable) data channels')
    .addOption(
      new Option('--engine <name>', 'connect/throughput: the peers\' WebRTC stack: werift (what sigctl ships) or node-datachannel (libdatachannel, optional dependency) (default werift)').choices(
        ENGINES,
      ),
    )
    .option('--clients <C>', 'signaling: WebSocket clients (default 200)', intOption(1, 100_000))
    .addOption(
      new Option(
        '--protocol <name>',
        'signaling: what the clients speak: v1 (sigctl\'s own), stomp (STOMP 1.2 over ws, a Spring app\'s destinations) or raw (the /room/<id> relay); a local server then runs with --compat stomp or raw, the floor\'s clients speak v1 (default v1; docs/compat.md)',
      ).choices(BENCH_PROTOCOLS),
    )
    .option('--room-size <K>', 'signaling: clients per room (default 2)', intOption(2, 1000))
    .addOption(
      new Option('--spread <how>', 'signaling with several --url: members puts each room\'s members on different nodes (every signal crosses nodes); rooms puts each whole room on one node, rooms dealt round-robin (every signal stays on its node) (default members)').choices(
        SPREADS,
      ),
    )
    .option('--rate <M>', 'signaling: signals per second per client (default 10)', numberOption(0.01))
    .option('--ramp', 'signaling: then raise the rate x1.5 per window until relay p99 passes the bound (--max-relay-p99, default 50 ms), and bisect twice between the last rate sustained and the first missed')
    .option('--vs-floor', 'signaling: also run the floor relay (the thinnest possible ws room relay, built in: `sigctl bench floor`) with as many clients, alternating the measured rounds between the two, and compare')
    .option('--json', 'print one JSON document with every figure')
    .option('--out <FILE>', 'also write the JSON document to FILE')
    .option('--max-join-p95 <MS>', 'gate: join latency p95 at most MS', numberOption(0))
    .option('--min-mbps <N>', 'gate: aggregate throughput at least N MB/s (10^6 bytes/s)', numberOption(0))
    .option('--max-relay-p99 <MS>', 'gate: signaling relay p99 at most MS', numberOption(0))
    .option('--max-failures <N>', 'gate: at most N failures (failed pairs or joins, lost or duplicated signals, error frames)', intOption(0))
    .addOption(new Option('--port <PORT>', 'floor: port to listen on').argParser(intOption(0, 65_535)).hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  sigctl bench signaling --clients 200 --rate 10 --duration 10 --vs-floor
  sigctl bench signaling --protocol stomp --vs-floor
  sigctl bench signaling --ramp --max-relay-p99 50 --json --out bench.json
  sigctl bench --url wss://signal.example.com/ws --pairs 10 --max-join-p95 2000 --max-failures 0
  sigctl bench throughput --engine node-datachannel --duration 5
  sigctl bench signaling --url ws://10.0.0.1:8080/ws --url ws://10.0.0.2:8080/ws --max-failures 0`,
    )
    .action(
      run<BenchOptions>(async (ctx, opts, cmd: Command) => (await import('./bench-run.js')).benchAction(ctx, opts, cmd)),
    );
};
