/**
 * `sigctl bench [connect|throughput|signaling]`: join latency, data-channel throughput and
 * signaling load against a deployment (`--url`) or a local server, with CI gates (exit 3).
 * `sigctl bench floor` (hidden) runs the floor relay in the foreground for comparisons.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { benchEnvironment } from '../../bench/environment.js';
import { startFloor } from '../../bench/floor.js';
import { checkGatesApply, evaluateGates, gateError, type GateFigures, type GateSpec } from '../../bench/gates.js';
import { ENGINES, type Engine } from '../../bench/peer-messages.js';
import { connectFigures, runConnect, runThroughput, throughputFigures, type ConnectRun, type ThroughputRun } from '../../bench/peers.js';
import { renderConnect, renderSignaling, renderThroughput } from '../../bench/render.js';
import { writeReport, type BenchReport, type LoadGeneratorKind, type Scenario } from '../../bench/report.js';
import { nothingConnected } from '../../bench/outcome.js';
import { runSignaling, signalingFigures, type SignalingResult } from '../../bench/signaling.js';
import { SigctlError } from '../../protocol/errors.js';
import { intOption, numberOption, type RegisterCommand } from '../command.js';
import type { CliContext } from '../context.js';
import type { GlobalOptions } from '../output.js';
import { packageVersion } from '../version.js';

interface BenchOptions {
  /** Repeatable: the nodes of one deployment. */
  url?: string[];
  pairs?: number;
  duration?: number;
  messageSize?: number;
  unordered?: boolean;
  engine?: Engine;
  clients?: number;
  roomSize?: number;
  rate?: number;
  ramp?: boolean;
  vsFloor?: boolean;
  out?: string;
  maxJoinP95?: number;
  minMbps?: number;
  maxRelayP99?: number;
  maxFailures?: number;
  port?: number;
}

/** Every run stops by itself: one window lasts at most an hour. */
function durationOption(value: string): number {
  const n = numberOption(0.1)(value);
  if (n > 3600) throw new InvalidArgumentError('expected at most 3600 seconds.');
  return n;
}

const SCENARIOS: readonly Scenario[] = ['connect', 'throughput', 'signaling'];

/** Flags that only make sense for some scenarios: given elsewhere they are a usage error, not ignored. */
const SCENARIO_FLAGS: ReadonlyArray<[keyof BenchOptions, string, readonly Scenario[]]> = [
  ['pairs', '--pairs', ['connect', 'throughput']],
  ['duration', '--duration', ['throughput', 'signaling']],
  ['messageSize', '--message-size', ['throughput']],
  ['unordered', '--unordered', ['throughput']],
  ['engine', '--engine', ['connect', 'throughput']],
  ['clients', '--clients', ['signaling']],
  ['roomSize', '--room-size', ['signaling']],
  ['rate', '--rate', ['signaling']],
  ['ramp', '--ramp', ['signaling']],
  ['vsFloor', '--vs-floor', ['signaling']],
];

function checkFlags(scenario: Scenario, opts: BenchOptions): void {
  for (const [key, flag, scenarios] of SCENARIO_FLAGS) {
    if (opts[key] !== undefined && !scenarios.includes(scenario)) {
      throw new SigctlError('USAGE', `${flag} does not apply to the ${scenario} scenario (only to: ${scenarios.join(', ')})`);
    }
  }
}

/** Collects a repeatable option. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SigctlError('USAGE', `--url ${JSON.stringify(url)} is not a URL (expected ws://host:port/ws or wss://...)`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new SigctlError('USAGE', `--url must be ws:// or wss://, got ${parsed.protocol}`);
}

/** Progress: a spinner on a TTY (with countdowns), stderr lines otherwise (only with -v under --json). */
function progress(ctx: CliContext): { update: (text: string, transient?: boolean) => void; stop: () => void } {
  const spinner = ctx.out.spinner('sigctl bench: starting');
  return {
    update: (text, transient = false) => {
      if (spinner !== undefined) spinner.text = text;
      else if (transient) return;
      else if (ctx.out.json) ctx.out.debug(text);
      else ctx.out.info(ctx.out.color.dim(text));
    },
    stop: () => spinner?.stop(),
  };
}

async function runFloor(ctx: CliContext, opts: BenchOptions): Promise<number> {
  const floor = await startFloor({ port: opts.port ?? 0 });
  try {
    ctx.out.result(`floor relay listening on ${floor.url}`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await floor.close();
  }
  return 0;
}

/**
 * `sigctl bench peer-worker` (internal): a peer worker in a child process, started by the bench
 * itself over IPC for engines that cannot live in worker threads (src/bench/child-worker.ts). The
 * first IPC message is the setup; it ends once the worker reported `closed`, or on a signal.
 */
async function runPeerProcess(ctx: CliContext): Promise<number> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new SigctlError('USAGE', 'bench peer-worker is internal: the bench starts it with an IPC channel');
  const { servePeerWorker } = await import('../../bench/peer-worker.js');
  await new Promise<void>((resolve) => {
    const onAbort = (): void => resolve();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    process.once('disconnect', onAbort);
    process.once('message', (setup: unknown) => {
      servePeerWorker(setup, {
        postMessage: (msg) => {
          // Resolve only once `closed` is written out: the process exits right after.
          send(msg, undefined, undefined, () => {
            if (msg.type === 'closed') resolve();
          });
        },
        onMessage: (listener) => process.on('message', listener),
      });
    });
  });
  return 0;
}

async function runBench(ctx: CliContext, scenario: Scenario, opts: BenchOptions & GlobalOptions): Promise<number> {
  checkFlags(scenario, opts);
  const urls = opts.url ?? [];
  for (const u of urls) checkUrl(u);
  const target = urls.length === 0 ? undefined : urls;
  const gates: GateSpec = { maxJoinP95: opts.maxJoinP95, minMbps: opts.minMbps, maxRelayP99: opts.maxRelayP99, maxFailures: opts.maxFailures };
  checkGatesApply(scenario, gates);
  const startedAt = new Date();
  const kills: Array<() => void> = [];
  ctx.onForceExit(() => kills.forEach((k) => k()));
  const live = progress(ctx);
  // A deployment with auth: the token comes from SIGCTL_TOKEN (as for `sigctl peer`), never from a flag or a log.
  const token = target === undefined ? undefined : ctx.env.SIGCTL_TOKEN;
  const common = { url: target, token, env: ctx.env, signal: ctx.signal, onProgress: live.update, onResource: (kill: () => void) => kills.push(kill) };
  let parameters: Record<string, unknown>;
  let figures: GateFigures;
  let results: unknown;
  let workers: number;
  let workerKind: LoadGeneratorKind = 'worker_threads';
  let failure: SigctlError | undefined;
  let render: (report: BenchReport) => string[];
  try {
    if (scenario === 'signaling') {
      const p = {
        clients: opts.clients ?? 200,
        roomSize: opts.roomSize ?? 2,
        rate: opts.rate ?? 10,
        durationS: opts.duration ?? 10,
        ramp: opts.ramp === true,
        rampBoundMs: opts.maxRelayP99 ?? 50,
        vsFloor: opts.vsFloor === true,
      };
      parameters = { url: urls[0] ?? null, urls, auth: token !== undefined, ...p };
      const result = await runSignaling({ ...common, ...p });
      figures = signalingFigures(result);
      const first = result.runs[0]!;
      failure = nothingConnected('client', first.join.ok + first.join.failed, first.join.ok, first.join.errors);
      workers = Math.max(...result.runs.map((r) => r.workers));
      results = result;
      render = (r) => renderSignaling(ctx.out.color, r as BenchReport<SignalingResult>);
    } else if (scenario === 'connect') {
      const p = { pairs: opts.pairs ?? 10, engine: opts.engine ?? 'werift' };
      parameters = { url: urls[0] ?? null, urls, auth: token !== undefined, ...p };
      const run = await runConnect({ ...common, ...p });
      figures = connectFigures(run);
      failure = nothingConnected('pair', run.pairs, run.connected, run.errors);
      workers = run.workers;
      workerKind = run.workerKind;
      results = run;
      render = (r) => renderConnect(ctx.out.color, r as BenchReport<ConnectRun>);
    } else {
      const p = {
        pairs: opts.pairs ?? 1,
        durationS: opts.duration ?? 10,
        messageSize: opts.messageSize ?? 16_384,
        ordered: opts.unordered !== true,
        engine: opts.engine ?? 'werift',
      };
      parameters = { url: urls[0] ?? null, urls, auth: token !== undefined, ...p };
      const run = await runThroughput({ ...common, ...p });
      figures = throughputFigures(run);
      failure = nothingConnected('pair', run.pairs, run.connected, run.errors);
      workers = run.workers;
      workerKind = run.workerKind;
      results = run;
      render = (r) => renderThroughput(ctx.out.color, r as BenchReport<ThroughputRun>);
    }
  } finally {
    live.stop();
  }

  const gateResults = evaluateGates(gates, figures);
  // A run that measured nothing is an error of its own (exit 1), before any gate (exit 3).
  const err = failure ?? gateError(gateResults);
  const report: BenchReport = {
    scenario,
    parameters,
    environment: {
      ...benchEnvironment({ nodeVersion: process.version, sigctlVersion: packageVersion() }),
      loadGenerator: { kind: workerKind, count: workers },
    },
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    results,
    gates: gateResults,
    passed: err === undefined,
    ...(err === undefined ? {} : { error: { code: err.code, message: err.message } }),
  };
  if (opts.out !== undefined) await writeReport(opts.out, report);
  if (ctx.out.json) {
    ctx.out.jsonLine(report);
    if (err !== undefined) {
      // The document above is the one JSON document; the reason goes to stderr.
      ctx.out.error(err.code, err.message);
      return err.exitCode;
    }
    return 0;
  }
  for (const line of render(report)) ctx.out.result(line);
  if (err !== undefined) throw err;
  return 0;
}

/** Registers `sigctl bench`. */
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
    .option('--room-size <K>', 'signaling: clients per room (default 2)', intOption(2, 1000))
    .option('--rate <M>', 'signaling: signals per second per client (default 10)', numberOption(0.01))
    .option('--ramp', 'signaling: then raise the rate x1.5 per window until relay p99 passes the bound (--max-relay-p99, default 50 ms)')
    .option('--vs-floor', 'signaling: then run the floor relay (the thinnest ws room relay, bench/floor.sh) with the same clients and compare')
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
  sigctl bench signaling --ramp --max-relay-p99 50 --json --out bench.json
  sigctl bench --url wss://signal.example.com/ws --pairs 10 --max-join-p95 2000 --max-failures 0
  sigctl bench throughput --engine node-datachannel --duration 5
  sigctl bench signaling --url ws://10.0.0.1:8080/ws --url ws://10.0.0.2:8080/ws --max-failures 0`,
    )
    .action(
      run<BenchOptions>(async (ctx, opts, cmd: Command) => {
        const scenario = (cmd.processedArgs[0] as string | undefined) ?? 'connect';
        if (scenario === 'floor') return runFloor(ctx, opts);
        if (scenario === 'peer-worker') return runPeerProcess(ctx);
        if (!(SCENARIOS as readonly string[]).includes(scenario)) {
          throw new SigctlError('USAGE', `unknown scenario ${JSON.stringify(scenario)} (expected ${SCENARIOS.join(', ')})`);
        }
        return runBench(ctx, scenario as Scenario, opts);
      }),
    );
};
