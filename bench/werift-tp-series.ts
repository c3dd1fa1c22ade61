/**
 * Writes bench/sections/65-werift-throughput.md (issue 17: werift's data-channel MB/s >= 0.5x
 * libdatachannel's in the same `sigctl bench throughput` series) from runs it makes itself, so no
 * figure in that section is typed by hand.
 *
 *   npm run build && npx tsc ... bench/werift-*.ts   (see docs/werift-patches.md "How to reproduce")
 *   flock /work/bench.lock node .bench-out/werift/bench/werift-tp-series.js [--rounds 3] [--duration 5] [--append]
 *
 * --append keeps the series already in the section (each is stored there, as JSON in an HTML
 * comment, next to its table) and adds this one: on a shared machine the ratio depends on the
 * load, so the section shows every series with its load rather than only the last.
 * Run from the repository root. Each round runs `node bin/sigctl bench throughput --engine
 * node-datachannel` and then `--engine werift` (16 KiB messages, default MTU, one pair, local
 * server), back to back, with the 1-minute load average read before each run; the ratio is taken
 * within a round, and the verdict on the median of those ratios. Every run's JSON document is kept
 * in --json-dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/sections/65-werift-throughput.md' },
    'json-dir': { type: 'string', default: '.bench-out/werift-tp-series' },
    append: { type: 'boolean', default: false },
  },
});

type EngineName = 'node-datachannel' | 'werift';
const GOAL = 0.5;


interface Run {
  engine: EngineName;
  at: string;
  load: number;
  mbps: number;
  ok: boolean;
  version: string;
  workers: string;
  patches: string;
}

function benchArgs(engine: EngineName, file: string): string[] {
  return ['bin/sigctl', 'bench', 'throughput', '--engine', engine, '--duration', args.duration, '--message-size', '16384', '--json', '--out', file];
}

/** Names this series' JSON documents apart from earlier ones. */
const stamp = new Date().toISOString().replace(/[:.]/g, '-');

function run(engine: EngineName, round: number): Run {
  const load = loadavg()[0] ?? NaN;
  const at = new Date().toISOString();
  const file = join(args['json-dir'], `${stamp}-round${round}-${engine}.json`);
  try {
    execFileSync(process.execPath, benchArgs(engine, file), { encoding: 'utf8', timeout: 150_000, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    // A failed run (exit 1: nothing connected, 3: a gate) still leaves its document when it got that far.
  }
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      results?: { engineVersion?: string; workers?: number; workerKind?: string; failed?: number; transfer?: { aggregateMBps?: number; failures?: number }; patches?: { applied?: string[]; skipped?: unknown[] } };
    };
    const r = doc.results ?? {};
    const applied = r.patches?.applied?.length;
    return {
      engine,
      at,
      load,
      mbps: r.transfer?.aggregateMBps ?? NaN,
      ok: r.failed === 0 && r.transfer?.failures === 0,
      version: r.engineVersion ?? '?',
      workers: `${r.workers ?? '?'} ${r.workerKind === 'child_processes' ? 'child processes' : 'worker threads'}`,
      patches: applied === undefined ? '' : `${applied} patches applied, ${r.patches?.skipped?.length ?? 0} skipped`,
    };
  } catch {
    return { engine, at, load, mbps: NaN, ok: false, version: '?', workers: '?', patches: '' };
  }
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** One series as stored in the section (and rendered from there). */
interface Series {
  from: string;
  to: string;
  durationS: number;
  rounds: Array<{ ndc: { load: number; mbps: number; ok: boolean }; werift: { load: number; mbps: number; ok: boolean } }>;
  placement: string;
}

const MARK = 'werift-tp-series';

function previous(file: string): Series[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(new RegExp(`<!-- ${MARK} (\\{.*?\\}) -->`, 'g'))].map((m) => JSON.parse(m[1]!) as Series);
}

const ratiosOf = (s: Series): number[] => s.rounds.map((r) => r.werift.mbps / r.ndc.mbps);
const loadsOf = (s: Series): number[] => s.rounds.flatMap((r) => [r.ndc.load, r.werift.load]);
const completeOf = (s: Series): boolean => s.rounds.every((r) => r.ndc.ok && r.werift.ok);

function verdictOf(s: Series): string {
  const med = median(ratiosOf(s));
  if (!Number.isFinite(med) || !completeOf(s)) return 'no verdict (a run failed or produced no figure)';
  return `${med >= GOAL ? '**met**' : '**not met**'}: median werift / libdatachannel ${f(med, 2)}x`;
}

function renderSeries(s: Series, i: number): string {
  const ratios = ratiosOf(s);
  const loads = loadsOf(s);
  return `<!-- ${MARK} ${JSON.stringify(s)} -->
### Series ${i + 1}: ${s.from} to ${s.to}, load ${f(Math.min(...loads), 2)}-${f(Math.max(...loads), 2)}: ${verdictOf(s)}

${s.placement}

| round | load before ndc / werift | node-datachannel MB/s | werift MB/s | werift / ndc | every pair connected and complete |
|---:|---:|---:|---:|---:|---:|
${s.rounds.map((r, k) => `| ${k + 1} | ${f(r.ndc.load, 2)} / ${f(r.werift.load, 2)} | ${f(r.ndc.mbps)} | ${f(r.werift.mbps)} | ${f(ratios[k]!, 2)}x | ${r.ndc.ok && r.werift.ok ? 'yes' : 'no'} |`).join('\n')}

Median ratio ${f(median(ratios), 2)}x over ${s.rounds.length} rounds of ${s.durationS} s (range ${f(Math.min(...ratios), 2)}-${f(Math.max(...ratios), 2)}x).
`;
}

mkdirSync(args['json-dir'], { recursive: true });
const kept = args.append ? previous(args.out) : [];
const runs: Array<Record<EngineName, Run>> = [];
for (let round = 1; round <= Number(args.rounds); round++) {
  const ndc = run('node-datachannel', round);
  const werift = run('werift', round);
  runs.push({ 'node-datachannel': ndc, werift });
  console.error(`[round ${round}] node-datachannel ${f(ndc.mbps)} MB/s, werift ${f(werift.mbps)} MB/s`);
}
const w = runs[0]!.werift;
const n = runs[0]!['node-datachannel'];
const pick = (r: Run): { load: number; mbps: number; ok: boolean } => ({ load: Math.round(r.load * 100) / 100, mbps: Math.round(r.mbps * 1000) / 1000, ok: r.ok });
const series: Series[] = [
  ...kept,
  {
    from: runs[0]!['node-datachannel'].at,
    to: runs.at(-1)!.werift.at,
    durationS: Number(args.duration),
    rounds: runs.map((r) => ({ ndc: pick(r['node-datachannel']), werift: pick(r.werift) })),
    placement: `werift ${w.version} in ${w.workers} (${w.patches}); node-datachannel ${n.version} in ${n.workers}.`,
  },
];

const met = series.filter((s) => completeOf(s) && median(ratiosOf(s)) >= GOAL).length;
const md = `## werift throughput vs libdatachannel (issue 17)

Goal: werift's MB/s >= ${GOAL}x node-datachannel's (libdatachannel) in the same \`sigctl bench
throughput\` series, 16 KiB messages, default MTU. **Met in ${met} of ${series.length} series below**;
${series.map((s) => `${f(median(ratiosOf(s)), 2)}x at load ${f(Math.min(...loadsOf(s)), 1)}-${f(Math.max(...loadsOf(s)), 1)}`).join(', ')} (median ratio, 1-minute load average).

Written by \`node .bench-out/werift/bench/werift-tp-series.js --rounds <n> --duration 5 [--append]\`
(bench/werift-tp-series.ts; every series it made is kept below), each run under \`flock
/work/bench.lock\`; ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, a machine
shared with other sessions. Each round runs \`node ${benchArgs('node-datachannel', '<json>').slice(0, -2).join(' ')}\`
and then the same with \`--engine werift\`, back to back, with the 1-minute load average read
before each: one pair through a local \`sigctl serve\`, figure = \`results.transfer.aggregateMBps\`
(MB = 10^6 bytes); the ratio is taken within a round.

Where the peers run: the two peers of the pair are in different workers (worker threads for
werift, child processes for node-datachannel, whose native threads run inside them), so neither
engine's sender shares an event loop with its receiver. Nothing is pinned to CPUs (\`sigctl bench\`
pins only the signaling scenario's server and load generator). Why the ratio falls with the load:
werift spends several times libdatachannel's CPU per MB in two JavaScript threads, so when other
work takes the CPUs it loses MB/s in proportion, while libdatachannel is far from CPU-bound; the
sender's and receiver's profiles are in docs/werift-patches.md ("Issue 17, round 3").

${series.map(renderSeries).join('\n')}`;
writeFileSync(args.out, md);
console.log(md);
