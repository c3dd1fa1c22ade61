/**
 * What `sigctl bench` does once its flags are parsed. Loaded on demand by bench.ts, so other
 * commands never load the bench, its workers or werift.
 */
import type { Command } from 'commander';
import { benchEnvironment } from '../../bench/environment.js';
import { startFloor } from '../../bench/floor.js';
import { checkGatesApply, evaluateGates, gateError, type GateFigures, type GateSpec } from '../../bench/gates.js';
import type { Engine } from '../../bench/peer-messages.js';
import { connectFigures, runConnect, runThroughput, throughputFigures, type ConnectRun, type ThroughputRun } from '../../bench/peers.js';
import { renderConnect, renderSignaling, renderThroughput } from '../../bench/render.js';
import { writeReport, type BenchReport, type LoadGeneratorKind, type Scenario } from '../../bench/report.js';
import { nothingConnected } from '../../bench/outcome.js';
import type { Spread } from '../../bench/spread.js';
import { runSignaling, signalingFigures, type SignalingResult } from '../../bench/signaling.js';
import type { BenchProtocol } from '../../bench/signaling-messages.js';
import { SigctlError } from '../../protocol/errors.js';
import type { CliContext } from '../context.js';
import { checkWsUrl } from '../url.js';
import type { GlobalOptions } from '../output.js';
import { packageVersion } from '../version.js';

/** The parsed flags of `sigctl bench`. */
export interface BenchOptions {
  /** Repeatable: the nodes of one deployment. */
  url?: string[];
  pairs?: number;
  duration?: number;
  messageSize?: number;
  unordered?: boolean;
  engine?: Engine;
  clients?: number;
  protocol?: BenchProtocol;
  roomSize?: number;
  spread?: Spread;
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

const SCENARIOS: readonly Scenario[] = ['connect', 'throughput', 'signaling'];

/** Flags that only make sense for some scenarios: given elsewhere they are a usage error, not ignored. */
const SCENARIO_FLAGS: ReadonlyArray<[keyof BenchOptions, string, readonly Scenario[]]> = [
  ['pairs', '--pairs', ['connect', 'throughput']],
  ['duration', '--duration', ['throughput', 'signaling']],
  ['messageSize', '--message-size', ['throughput']],
  ['unordered', '--unordered', ['throughput']],
  ['engine', '--engine', ['connect', 'throughput']],
  ['clients', '--clients', ['signaling']],
  ['protocol', '--protocol', ['signaling']],
  ['roomSize', '--room-size', ['signaling']],
  ['spread', '--spread', ['signaling']],
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
  for (const u of urls) checkWsUrl(u);
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
        protocol: opts.protocol ?? 'v1',
        clients: opts.clients ?? 200,
        roomSize: opts.roomSize ?? 2,
        spread: opts.spread ?? 'members',
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
      failure = nothingConnected('pair', run.pairs, run.connected, run.errors, run.perPair.find((p) => p.detail !== undefined)?.detail);
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
      failure = nothingConnected('pair', run.pairs, run.connected, run.errors, run.perPair.find((p) => p.detail !== undefined)?.detail);
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

/** Runs the scenario named by the first argument (or a hidden helper mode). */
export async function benchAction(ctx: CliContext, opts: BenchOptions & GlobalOptions, cmd: Command): Promise<number> {
  const scenario = (cmd.processedArgs[0] as string | undefined) ?? 'connect';
  if (scenario === 'floor') return runFloor(ctx, opts);
  if (scenario === 'peer-worker') return runPeerProcess(ctx);
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new SigctlError('USAGE', `unknown scenario ${JSON.stringify(scenario)} (expected ${SCENARIOS.join(', ')})`);
  }
  return runBench(ctx, scenario as Scenario, opts);
}
