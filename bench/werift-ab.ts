/**
 * One patch, before and after, on the two-process loopback transfer (bench/werift-throughput.ts):
 * alternating runs of "all patches but NAME" and "all patches", round by round, so each pair runs
 * back to back under the same machine load. Prints a markdown table (every run, then the median of
 * the per-round ratios) and, with --doc, writes it between `<!-- werift-bench:<section>:... -->`
 * markers, so no figure in docs/werift-patches.md is typed by hand.
 *
 *   node .bench-out/werift/bench/werift-ab.js --patch max-burst [--rounds 4] [--seconds 3]
 *     [--doc docs/werift-patches.md --section max-burst]
 *
 * Build as in docs/werift-patches.md "How to reproduce"; run under `flock /work/bench.lock` on a
 * shared machine.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WERIFT_PATCH_NAMES } from '../src/peer/patches/index.js';

const { values: args } = parseArgs({
  options: {
    patch: { type: 'string' },
    rounds: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '3' },
    doc: { type: 'string' },
    section: { type: 'string' },
  },
});
const name = args.patch;
if (name === undefined || !WERIFT_PATCH_NAMES.includes(name)) throw new Error(`--patch must name one of ${WERIFT_PATCH_NAMES.join(', ')}`);

const script = join(dirname(fileURLToPath(import.meta.url)), 'werift-throughput.js');
const configs = [
  { id: 'without', label: `all patches but ${name}`, patches: WERIFT_PATCH_NAMES.filter((n) => n !== name).join(',') },
  { id: 'with', label: 'all patches', patches: WERIFT_PATCH_NAMES.join(',') },
] as const;

interface Run {
  load: number;
  mbPerSecond: number;
  senderMsPerMb: number;
  receiverMsPerMb: number;
  ok: boolean;
}

function run(patches: string): Run {
  const load = loadavg()[0] ?? NaN;
  try {
    const out = execFileSync(process.execPath, [script, '--mode', 'throughput', '--patches', patches, '--seconds', args.seconds], { encoding: 'utf8', timeout: 90_000, stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    const n = (k: string): number => (typeof r[k] === 'number' ? r[k] : NaN);
    return { load, mbPerSecond: n('mbPerSecond'), senderMsPerMb: n('senderCpuPerMb') * 1000, receiverMsPerMb: n('receiverCpuPerMb') * 1000, ok: r.complete === true && r.inOrder === true };
  } catch {
    return { load, mbPerSecond: NaN, senderMsPerMb: NaN, receiverMsPerMb: NaN, ok: false };
  }
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

const started = new Date();
const rounds = Number(args.rounds);
const results: Array<{ without: Run; with: Run }> = [];
for (let round = 1; round <= rounds; round++) {
  const without = run(configs[0].patches);
  const withPatch = run(configs[1].patches);
  results.push({ without, with: withPatch });
  console.error(`[round ${round}/${rounds}] without ${f(without.mbPerSecond)} MB/s, with ${f(withPatch.mbPerSecond)} MB/s`);
}

const command = `node .bench-out/werift/bench/werift-ab.js --patch ${name} --rounds ${rounds} --seconds ${args.seconds}`;
const lines = [
  `Measured ${started.toISOString()} with \`${command}\` (build: see "How to reproduce"), under \`flock /work/bench.lock\`; ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, on a shared machine (1-minute load average per run below). Two processes on loopback (the parent offers and sends, the child answers and receives), 16 KiB messages, default MTU, ${args.seconds} s per run; 1 MB = 10^6 bytes; "complete" = every byte arrived in order.`,
  '',
  '| round | configuration | load | MB/s | sender CPU ms/MB | receiver CPU ms/MB | complete |',
  '|---:|---|---:|---:|---:|---:|---:|',
  ...results.flatMap((r, i) =>
    configs.map((c) => {
      const x = r[c.id];
      return `| ${i + 1} | ${c.label} | ${f(x.load, 2)} | ${f(x.mbPerSecond)} | ${f(x.senderMsPerMb)} | ${f(x.receiverMsPerMb)} | ${x.ok ? 'yes' : 'no'} |`;
    }),
  ),
  '',
  `Median over rounds of the same-round ratio with/without ${name}: MB/s x${f(median(results.map((r) => r.with.mbPerSecond / r.without.mbPerSecond)), 2)}, sender CPU per MB x${f(median(results.map((r) => r.with.senderMsPerMb / r.without.senderMsPerMb)), 2)}, receiver CPU per MB x${f(median(results.map((r) => r.with.receiverMsPerMb / r.without.receiverMsPerMb)), 2)}.`,
];
const md = lines.join('\n');
console.log(md);

if (args.doc !== undefined) {
  const section = args.section ?? name;
  const begin = `<!-- werift-bench:${section}:begin -->`;
  const end = `<!-- werift-bench:${section}:end -->`;
  const doc = readFileSync(args.doc, 'utf8');
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${args.doc} has no ${begin} ... ${end} markers`);
  writeFileSync(args.doc, `${doc.slice(0, a + begin.length)}\n${md}\n${doc.slice(b)}`);
}
