/**
 * Writes bench/sections/65-werift-throughput.md (issue 17: werift's data-channel MB/s >= 0.5x
 * libdatachannel's in the same `sigctl bench throughput` series) from runs it makes itself, so no
 * figure in that section is typed by hand.
 *
 *   npm run build && npx tsc ... bench/werift-*.ts   (see docs/werift-patches.md "How to reproduce")
 *   flock /work/bench.lock node .bench-out/werift/bench/werift-tp-series.js [--rounds 3] [--duration 5]
 *
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
  },
});

const ENGINES = ['node-datachannel', 'werift'] as const;
type EngineName = (typeof ENGINES)[number];
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

function run(engine: EngineName, round: number): Run {
  const load = loadavg()[0] ?? NaN;
  const at = new Date().toISOString();
  const file = join(args['json-dir'], `round${round}-${engine}.json`);
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

mkdirSync(args['json-dir'], { recursive: true });
const rounds: Array<Record<EngineName, Run>> = [];
for (let round = 1; round <= Number(args.rounds); round++) {
  const ndc = run('node-datachannel', round);
  const werift = run('werift', round);
  rounds.push({ 'node-datachannel': ndc, werift });
  console.error(`[round ${round}] node-datachannel ${f(ndc.mbps)} MB/s, werift ${f(werift.mbps)} MB/s`);
}

const ratios = rounds.map((r) => r.werift.mbps / r['node-datachannel'].mbps);
const med = median(ratios);
const all = rounds.flatMap((r) => ENGINES.map((e) => r[e]));
const complete = all.every((r) => r.ok);
const w = rounds[0]!.werift;
const n = rounds[0]!['node-datachannel'];
const verdict = !Number.isFinite(med) || !complete
  ? '**No verdict**: a run failed or produced no figure (see the table).'
  : med >= GOAL
    ? `**Met in this series**: median werift / libdatachannel ratio ${f(med, 2)}x (goal >= ${GOAL}x).`
    : `**Not met in this series**: median werift / libdatachannel ratio ${f(med, 2)}x (goal >= ${GOAL}x).`;

const md = `## werift throughput vs libdatachannel (issue 17)

Goal: werift's MB/s >= ${GOAL}x node-datachannel's (libdatachannel) in the same \`sigctl bench
throughput\` series, 16 KiB messages, default MTU. ${verdict}

Written by \`node .bench-out/werift/bench/werift-tp-series.js --rounds ${args.rounds} --duration ${args.duration}\`
(bench/werift-tp-series.ts), run under \`flock /work/bench.lock\`, ${all[0]!.at} to ${all.at(-1)!.at};
${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, a machine shared with other
sessions (1-minute load average read before each run, below). Each round runs \`node
${benchArgs('node-datachannel', '<json>').join(' ')}\` and then the same with \`--engine werift\`, back to
back: one pair through a local \`sigctl serve\`, figure = \`results.transfer.aggregateMBps\` (MB =
10^6 bytes); the ratio is taken within a round.

Where the peers run: the two peers of the pair are in different workers, so neither engine's
sender shares an event loop with its receiver: werift ${w.version} in ${w.workers} (${w.patches}),
node-datachannel ${n.version} in ${n.workers} (libdatachannel's own native threads inside each).
Nothing is pinned to CPUs (\`sigctl bench\` pins only the signaling scenario's server and load
generator).

| round | load before ndc / werift | node-datachannel MB/s | werift MB/s | werift / ndc | every pair connected and complete |
|---:|---:|---:|---:|---:|---:|
${rounds.map((r, i) => `| ${i + 1} | ${f(r['node-datachannel'].load, 2)} / ${f(r.werift.load, 2)} | ${f(r['node-datachannel'].mbps)} | ${f(r.werift.mbps)} | ${f(ratios[i]!, 2)}x | ${r['node-datachannel'].ok && r.werift.ok ? 'yes' : 'no'} |`).join('\n')}

Median ratio ${f(med, 2)}x over ${rounds.length} rounds (range ${f(Math.min(...ratios), 2)}-${f(Math.max(...ratios), 2)}x).
Where each engine's sender and receiver spend their time, and what the patches changed:
docs/werift-patches.md ("Issue 17, round 3").
`;
writeFileSync(args.out, md);
console.log(md);
