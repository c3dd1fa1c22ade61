/**
 * The human report: a headline, coloured tables of every figure, and the gates. Results go to
 * stdout; this only builds the lines.
 */
import type { ChalkInstance } from 'chalk';
import type { GateResult } from './gates.js';
import type { ConnectRun, PhaseBreakdown, ThroughputRun } from './peers.js';
import type { BenchReport } from './report.js';
import type { SignalingResult, SignalingWindow } from './signaling.js';
import type { Summary } from './stats.js';
import { num, renderTable, type Cell } from './table.js';
import { GENERATOR_BOUND_ELU } from './windows.js';

function headline(color: ChalkInstance, report: BenchReport, what: string): string[] {
  const e = report.environment;
  return [
    `${color.bold.cyan(`sigctl bench ${report.scenario}`)}  ${what}`,
    color.dim(
      `  node ${e.node} · ${e.cpuCount} cpu (${e.cpuModel}) · load ${e.loadAverage1m} · load generated in ${e.loadGenerator.count} ${e.loadGenerator.kind === 'child_processes' ? 'child process' : 'worker thread'}${e.loadGenerator.count === 1 ? '' : e.loadGenerator.kind === 'child_processes' ? 'es' : 's'} · ${report.startedAt}`,
    ),
  ];
}

/** Lines for the gates, or none when no gate was given. */
export function renderGates(color: ChalkInstance, gates: readonly GateResult[]): string[] {
  if (gates.length === 0) return [];
  const lines = ['', color.bold('gates')];
  for (const g of gates) {
    const mark = g.passed ? color.green('pass') : color.red('FAIL');
    lines.push(`  ${mark}  ${g.flag} ${g.limit}  ${g.measure}: ${g.actual === null ? 'not measured' : Number.isInteger(g.actual) ? String(g.actual) : num(g.actual, 3)}`);
  }
  return lines;
}

function ratioCell(color: ChalkInstance, v: number, good: boolean): string {
  const s = num(v, 6);
  return good ? color.green(s) : color.red(s);
}

function windowRow(color: ChalkInstance, label: string, w: SignalingWindow): Cell[] {
  const errors = Object.values(w.errors).reduce((n, v) => n + v, 0);
  return [
    label,
    num(w.targetRate, 0),
    num(w.sendRate, 0),
    w.sent,
    ratioCell(color, w.deliveredRatio, w.deliveredRatio === 1),
    w.duplicates === 0 ? '0' : color.red(String(w.duplicates)),
    w.lost === 0 ? '0' : color.red(String(w.lost)),
    errors === 0 ? '0' : color.red(String(errors)),
    num(w.relayLatencyMs.p50, 2),
    num(w.relayLatencyMs.p95, 2),
    num(w.relayLatencyMs.p99, 2),
    num(w.relayLatencyMs.max, 2),
    num(w.serverCpuUsPerMessage, 1),
    w.generatorBound ? color.yellow(`${num(w.generatorElu, 2)} bound`) : num(w.generatorElu, 2),
  ];
}

/** Step numbers count rates, not windows: a retry repeats its step's number; refinements are r1, r2, ... */
function stepLabel(steps: readonly SignalingWindow[], i: number): string {
  const s = steps[i]!;
  const n = steps.slice(0, i + 1).filter((x) => x.retry !== true && x.refine === s.refine).length;
  const label = s.refine === true ? `r${n}` : String(n);
  return s.retry === true ? `${label} retry` : label;
}

function verdictCell(color: ChalkInstance, w: SignalingWindow): string {
  if (w.generatorBound) return color.yellow('no verdict (generator-bound)');
  return w.sustained === true ? color.green('yes') : color.red('no');
}

const WINDOW_HEADER = ['', 'target/s', 'sent/s', 'sent', 'delivered/expected', 'dup', 'lost', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'cpu µs/msg', 'gen ELU'];

/** The signaling report. */
export function renderSignaling(color: ChalkInstance, report: BenchReport<SignalingResult>): string[] {
  const p = report.parameters;
  const lines = headline(
    color,
    report,
    `${String(p.clients)} ${typeof p.protocol === 'string' && p.protocol !== 'v1' ? `${p.protocol} ` : ''}clients in rooms of ${String(p.roomSize)} · ${String(p.rate)} signals/s each · ${String(p.durationS)} s per window`,
  );
  const { runs, comparison, pinning } = report.results;
  if (pinning !== undefined) lines.push(color.dim(`  CPU pinning: ${pinning.note}`));
  lines.push(color.dim(`  windows whose busiest load worker passed ${GENERATOR_BOUND_ELU} event-loop utilisation are marked "bound" and given no verdict`));
  lines.push('', color.bold('joins'));
  lines.push(
    ...renderTable(
      color,
      ['target', 'joined', 'failed', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'server RSS KiB', 'RSS KiB/conn', 'heap KiB/conn'],
      runs.map((r) => [
        r.target,
        r.join.ok,
        r.join.failed === 0 ? '0' : color.red(String(r.join.failed)),
        num(r.join.latencyMs.p50, 2),
        num(r.join.latencyMs.p95, 2),
        num(r.join.latencyMs.p99, 2),
        num(r.join.latencyMs.max, 2),
        r.server === undefined ? '-' : `${r.server.rssBaselineKiB} -> ${r.server.rssJoinedKiB}`,
        num(r.server?.rssPerConnectionKiB, 2),
        num(r.server?.heapPerConnectionKiB, 2),
      ]),
    ),
  );
  for (const r of runs) {
    if (r.urls.length < 2) continue;
    const where = r.join.byUrl.map((b) => `${b.url} (${b.joined} joined)`).join(', ');
    lines.push('', `${color.bold(`targets: ${r.target}`)} ${where}; rooms spanning targets: ${r.join.spanningRooms}/${r.join.rooms}`);
  }
  lines.push('', color.bold('relay (steady window)'));
  lines.push(...renderTable(color, WINDOW_HEADER, runs.map((r) => windowRow(color, r.target, r.steady))));
  for (const r of runs) {
    if (r.ramp === undefined) continue;
    const max = r.ramp.maxSustainedRate;
    lines.push('', `${color.bold(`ramp: ${r.target}`)} (x${r.ramp.factor} per step until p99 > ${r.ramp.boundMs} ms; a latency-only miss is retried once; r1, r2...: bisections after the first miss) highest sustained: ${color.bold(max === null ? 'none' : `${num(max, 0)} signals/s`)}`);
    const bound = r.ramp.generatorBoundRate ?? null;
    if (bound !== null) {
      lines.push(color.yellow(`  stopped at ${num(bound, 0)} signals/s: the load generator became the limit (worker ELU > ${GENERATOR_BOUND_ELU}), so the highest sustained rate is a lower bound of the server's, not its maximum`));
    }
    lines.push(...renderTable(color, ['step', ...WINDOW_HEADER.slice(1), 'ok'], r.ramp.steps.map((s, i, all) => [...windowRow(color, stepLabel(all, i), s), verdictCell(color, s)])));
  }
  if (comparison !== undefined) {
    const goal = (v: boolean | null): string => (v === null ? color.yellow('n/a') : v ? color.green('met') : color.red('missed'));
    const speaks = runs.find((r) => r.target === 'sigctl')?.protocol;
    lines.push('', color.bold(`sigctl vs floor${speaks !== undefined && speaks !== 'v1' ? ` (sigctl's clients speak ${speaks}, the floor's v1)` : ''}`));
    const byRound = comparison.cpuRatioByRound;
    const how = byRound === undefined ? '' : ` (median of ${byRound.length} interleaved rounds: ${byRound.map((v) => num(v, 2)).join(', ')}; totals ${num(comparison.cpuPerMessageRatioTotal, 3)}x)`;
    lines.push(`  cpu per relayed message  ${num(comparison.cpuPerMessageRatio, 3)}x floor (goal <= ${comparison.cpuGoal}x) ${goal(comparison.goals.cpu)}${how}`);
    if (comparison.noVerdict?.cpu !== undefined) lines.push(color.yellow(`    no verdict: ${comparison.noVerdict.cpu}`));
    for (const r of runs) {
      const perRound = r.steady.roundCpuUsPerMessage;
      if (perRound !== undefined) lines.push(`    ${r.target.padEnd(6)} µs/msg by round  ${perRound.map((v) => num(v, 2)).join(', ')}`);
    }
    const rss = comparison.rssPerConnectionRatio === null ? 'n/a (RSS grew by less than 4 MiB, below what it can resolve)' : `${num(comparison.rssPerConnectionRatio, 3)}x floor`;
    lines.push(`  RSS per joined conn      ${rss} (goal <= 1.2x) ${goal(comparison.goals.memory)}`);
    lines.push(`  JS heap per joined conn  ${num(comparison.heapPerConnectionRatio, 3)}x floor (for information)`);
    lines.push(`  delivered/expected       exactly 1 for both: ${goal(comparison.goals.delivery)}`);
    if (comparison.rampMaxRatio !== null || runs.some((r) => r.ramp !== undefined)) {
      lines.push(`  ramp maximum             ${num(comparison.rampMaxRatio, 3)}x floor (goal >= 0.8x) ${goal(comparison.goals.ramp)}`);
      if (comparison.noVerdict?.ramp !== undefined) lines.push(color.yellow(`    no verdict: ${comparison.noVerdict.ramp}`));
    }
  }
  lines.push(...renderGates(color, report.gates));
  return lines;
}

function phaseRows(color: ChalkInstance, phases: PhaseBreakdown): Cell[][] {
  const rows: Array<[string, Summary]> = [
    ['signaling (ws connect -> joined)', phases.signaling],
    ['offer/answer round trip', phases.offerAnswer],
    ['ICE connected', phases.ice],
    ['DTLS connected', phases.dtls],
    ['data channel open', phases.channel],
    [color.bold('total'), phases.total],
  ];
  return rows.map(([label, s]) => [label, s.count, num(s.p50, 2), num(s.p95, 2), num(s.p99, 2), num(s.max, 2)]);
}

function connectLines(color: ChalkInstance, run: ConnectRun): string[] {
  const failed = run.failed === 0 ? color.green('0 failed') : color.red(`${run.failed} failed ${JSON.stringify(run.errors)}`);
  return [
    '',
    `${color.bold('join latency by phase')} (${run.target} ${run.urls.join(' + ')}) ${run.connected}/${run.pairs} pairs connected, ${failed}`,
    ...renderTable(color, ['phase', 'pairs', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], phaseRows(color, run.phasesMs)),
    ...patchLines(color, run.patches),
  ];
}

/** werift's runtime patches: how many applied, and each skipped one with its reason (in yellow). */
export function patchLines(color: ChalkInstance, patches: ConnectRun['patches']): string[] {
  if (patches === undefined) return [];
  const head = `werift ${patches.weriftVersion ?? '?'} runtime patches: ${patches.applied.length} applied, ${patches.skipped.length} skipped`;
  return ['', patches.skipped.length === 0 ? head : color.yellow(head), ...patches.skipped.map((s) => color.yellow(`  skipped ${s.name}: ${s.reason}`))];
}

/** The connect report. */
export function renderConnect(color: ChalkInstance, report: BenchReport<ConnectRun>): string[] {
  const run = report.results;
  const lines = headline(color, report, `${run.pairs} pair${run.pairs === 1 ? '' : 's'} of ${run.engine} ${run.engineVersion} peers, one room each`);
  lines.push(...connectLines(color, report.results));
  lines.push(...renderGates(color, report.gates));
  return lines;
}

/** The throughput report. */
export function renderThroughput(color: ChalkInstance, report: BenchReport<ThroughputRun>): string[] {
  const run = report.results;
  const t = run.transfer;
  const lines = headline(
    color,
    report,
    `${run.pairs} pair${run.pairs === 1 ? '' : 's'} · ${t.messageSize}-byte ${t.ordered ? 'ordered' : 'unordered'} messages · ${t.durationS} s · engine ${t.engine} ${run.engineVersion}`,
  );
  lines.push(...connectLines(color, run));
  lines.push('', `${color.bold('throughput')} aggregate ${color.bold(`${num(t.aggregateMBps, 3)} MB/s`)} (MB = 10^6 bytes)`);
  lines.push(
    ...renderTable(
      color,
      ['pair', 'MB/s', 'MB delivered', 'messages', 'seconds', 'max buffered KiB', 'error'],
      t.perPair.map((p) => [String(p.pair), num(p.mbps, 3), num(p.bytes / 1e6, 2), p.messages, num(p.ms / 1000, 2), num(p.maxBufferedBytes / 1024, 0), p.error === undefined ? '' : color.red(p.error)]),
    ),
  );
  lines.push('', `${color.bold('message RTT')} (timestamped pings after the bulk phase): ${t.rttMs.count} pings, p50 ${num(t.rttMs.p50, 3)} ms, p99 ${num(t.rttMs.p99, 3)} ms, max ${num(t.rttMs.max, 3)} ms`);
  lines.push(...renderGates(color, report.gates));
  return lines;
}
