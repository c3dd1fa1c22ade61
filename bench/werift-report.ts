/**
 * Runs the issue-5 measurement matrix and writes the results into docs/werift-patches.md (between
 * `<!-- werift-bench:... -->` markers), so no number in that document is typed by hand.
 *
 *   node .bench-out/werift/bench/werift-report.js [--rounds 3] [--seconds 4] [--doc docs/werift-patches.md]
 *
 * Every configuration is a fresh pair of processes (bench/werift-throughput.ts). Configurations
 * are interleaved round by round, so a before/after pair always runs back to back under the same
 * machine load; medians are reported with the min-max range, and CPU seconds per MB (less
 * sensitive to load than MB/s on a shared machine) next to MB/s.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WERIFT_PATCH_NAMES } from '../src/peer/patches/index.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    doc: { type: 'string', default: 'docs/werift-patches.md' },
    out: { type: 'string', default: '.bench-out/werift-results.json' },
  },
});

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, 'werift-throughput.js');
const ALL = WERIFT_PATCH_NAMES.join(',');
const without = (name: string): string => WERIFT_PATCH_NAMES.filter((n) => n !== name).join(',');

interface Config {
  readonly id: string;
  readonly label: string;
  readonly argv: readonly string[];
}
/** Configurations run back to back in every round; the first is the baseline of the paired ratios. */
interface Group {
  readonly id: string;
  readonly configs: readonly Config[];
}
const tput = (id: string, label: string, patches: string, extra: string[] = []): Config => ({
  id,
  label,
  argv: ['--mode', 'throughput', '--patches', patches, '--seconds', args.seconds, ...extra],
});
const lat = (id: string, label: string, extra: string[]): Config => ({ id, label, argv: ['--mode', 'latency', ...extra] });
const MiB4 = String(4 * 1024 * 1024);
const NONE = tput('t:none', 'werift unpatched', 'none');
const GROUPS: readonly Group[] = [
  {
    id: 'main',
    configs: [
      NONE,
      tput('t:all', 'werift, all patches', ALL),
      { id: 't:ndc', label: 'node-datachannel (libdatachannel)', argv: ['--mode', 'throughput', '--engine', 'node-datachannel', '--seconds', args.seconds] },
    ],
  },
  ...WERIFT_PATCH_NAMES.map((n) => ({ id: `only:${n}`, configs: [NONE, tput(`t:${n}`, `werift, only ${n}`, n)] })),
  {
    id: 'buffered',
    configs: [
      tput('t4:none', 'werift unpatched, 4 MiB buffered', 'none', ['--max-buffered', MiB4]),
      tput('t4:send-queue', 'werift, only send-queue, 4 MiB buffered', 'send-queue', ['--max-buffered', MiB4]),
      tput('t4:all', 'werift, all patches, 4 MiB buffered', ALL, ['--max-buffered', MiB4]),
    ],
  },
  {
    id: 'drop',
    configs: [
      tput('d:none', 'werift unpatched, 1% of records dropped', 'none', ['--drop', '1']),
      tput('d:all', 'werift, all patches, 1% dropped', ALL, ['--drop', '1']),
      tput('d:-sack-retransmit', 'werift, all but sack-retransmit, 1% dropped', without('sack-retransmit'), ['--drop', '1']),
      tput('d:-sack-frequency', 'werift, all but sack-frequency, 1% dropped', without('sack-frequency'), ['--drop', '1']),
    ],
  },
  {
    id: 'latency',
    configs: [
      lat('l:none', 'werift unpatched', ['--patches', 'none']),
      lat('l:dtls-first-flight', 'werift, only dtls-first-flight', ['--patches', 'dtls-first-flight']),
      lat('l:all', 'werift, all patches', ['--patches', ALL]),
      lat('l:all+prewarm', 'werift, all patches, prewarmWerift() at start-up (not timed)', ['--patches', ALL, '--prewarm']),
      lat('l:ndc', 'node-datachannel (libdatachannel)', ['--engine', 'node-datachannel']),
    ],
  },
];

type Result = Record<string, unknown> & { error?: string };

function run(config: Config): Result {
  try {
    const out = execFileSync(process.execPath, [script, ...config.argv], { encoding: 'utf8', timeout: 90_000, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = out.trim().split('\n').at(-1) ?? '{}';
    return JSON.parse(line) as Result;
  } catch (error) {
    return { error: error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : String(error) };
  }
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const num = (r: Result | undefined, k: string): number => (r && typeof r[k] === 'number' ? (r[k]) : NaN);
const warm = (r: Result | undefined, k: string): number => {
  const w = r?.warm as Record<string, number> | undefined;
  return typeof w?.[k] === 'number' ? w[k] : NaN;
};
const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

const rounds = Number(args.rounds);
/** results[group][config][round] */
const results = new Map<string, Map<string, Result[]>>(GROUPS.map((g) => [g.id, new Map(g.configs.map((c) => [c.id, []]))]));
const started = new Date().toISOString();
const loadBefore = loadavg()[0] ?? NaN;
for (let round = 1; round <= rounds; round++) {
  for (const group of GROUPS) {
    for (const config of group.configs) {
      const r = run(config);
      results.get(group.id)?.get(config.id)?.push(r);
      console.error(`[round ${round}/${rounds}] ${group.id} ${config.id}: ${r.error ?? fmt(num(r, 'mbPerSecond')) + ' MB/s ' + fmt(warm(r, 'p50Ms'), 0) + ' ms'}`);
    }
  }
}
const loadAfter = loadavg()[0] ?? NaN;
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify({ started, groups: GROUPS, results: Object.fromEntries([...results].map(([g, m]) => [g, Object.fromEntries(m)])) }, null, 2));

// ---- markdown -------------------------------------------------------------------------------------
const runsOf = (group: string, config: string): Result[] => results.get(group)?.get(config) ?? [];
/** Median over rounds of (config / baseline) for one metric, both from the same round. */
function pairedRatio(group: string, config: string, metric: (r: Result | undefined) => number): number {
  const g = GROUPS.find((x) => x.id === group);
  const base = g?.configs[0]?.id;
  if (!base || base === config) return NaN;
  const a = runsOf(group, config);
  const b = runsOf(group, base);
  return median(a.map((r, i) => metric(r) / metric(b[i])));
}
const ratio = (x: number): string => (Number.isFinite(x) ? `x${x.toFixed(2)}` : '');
function tLine(group: string, config: string): string {
  const c = GROUPS.find((g) => g.id === group)?.configs.find((x) => x.id === config);
  const rs = runsOf(group, config);
  const ok = rs.filter((r) => !r.error && r.complete === true && r.inOrder === true).length;
  const mb = rs.map((r) => num(r, 'mbPerSecond'));
  const sCpu = (r: Result | undefined): number => num(r, 'senderCpuPerMb') * 1000;
  const rCpu = (r: Result | undefined): number => num(r, 'receiverCpuPerMb') * 1000;
  const mbFinite = mb.filter(Number.isFinite);
  return [
    `| ${c?.label ?? config}`,
    fmt(median(mb)),
    mbFinite.length ? `${fmt(Math.min(...mbFinite))}-${fmt(Math.max(...mbFinite))}` : 'n/a',
    ratio(pairedRatio(group, config, (r) => num(r, 'mbPerSecond'))),
    fmt(median(rs.map(sCpu))),
    ratio(pairedRatio(group, config, sCpu)),
    fmt(median(rs.map(rCpu))),
    ratio(pairedRatio(group, config, rCpu)),
    `${ok}/${rs.length} |`,
  ].join(' | ');
}
const T_HEAD =
  '| configuration | MB/s (median) | MB/s range | MB/s vs baseline | sender CPU ms/MB | vs baseline | receiver CPU ms/MB | vs baseline | complete & in order |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|';
function lLine(config: string): string {
  const c = GROUPS.find((g) => g.id === 'latency')?.configs.find((x) => x.id === config);
  const rs = runsOf('latency', config);
  return `| ${c?.label ?? config} | ${fmt(median(rs.map((r) => warm(r, 'p50Ms'))), 0)} | ${fmt(median(rs.map((r) => warm(r, 'p99Ms'))), 0)} | ${fmt(median(rs.map((r) => num(r, 'firstMs'))), 0)} | ${fmt(median(rs.map((r) => num(r, 'firstUptimeMs'))), 0)} | ${rs.filter((r) => !r.error).length}/${rs.length} |`;
}
const L_HEAD =
  '| configuration | warm p50 ms | warm p99 ms | first connection of a fresh process, ms | process uptime when it opened, ms | runs ok |\n|---|---:|---:|---:|---:|---:|';

const cmd = `node .bench-out/werift/bench/werift-report.js --rounds ${rounds} --seconds ${args.seconds}`;
const provenance = `Measured ${started} with \`${cmd}\` (build: see "How to reproduce"); ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, 1-minute load average ${fmt(loadBefore, 2)} before / ${fmt(loadAfter, 2)} after on this shared machine. Each row: ${rounds} runs of ${args.seconds} s, in groups run back to back every round; "vs baseline" is the median over rounds of the ratio to the first row of the group in the same round (for CPU, lower is better). 16 KiB messages; the sender keeps bufferedAmount <= 256 KiB unless noted; 1 MB = 10^6 bytes.`;

const only = (n: string): string[] => [tLine(`only:${n}`, 't:none'), tLine(`only:${n}`, `t:${n}`)];
const sections: Record<string, string> = {
  summary: [
    provenance,
    '',
    '**Throughput** (two processes, loopback, default MTU):',
    '',
    T_HEAD,
    tLine('main', 't:none'),
    tLine('main', 't:all'),
    tLine('main', 't:ndc'),
    tLine('buffered', 't4:none'),
    tLine('buffered', 't4:all'),
    tLine('drop', 'd:none'),
    tLine('drop', 'd:all'),
    '',
    '**createOffer -> data channel open** (two processes, non-trickle; per run 1 + 20 sequential connections):',
    '',
    L_HEAD,
    ...['l:none', 'l:dtls-first-flight', 'l:all', 'l:all+prewarm', 'l:ndc'].map(lLine),
  ].join('\n'),
  'per-patch': [
    provenance,
    '',
    'Each patch alone, paired with an unpatched run right before it in every round:',
    '',
    T_HEAD,
    ...WERIFT_PATCH_NAMES.map((n) => tLine(`only:${n}`, `t:${n}`)),
  ].join('\n'),
  'send-queue': [T_HEAD, ...only('send-queue'), tLine('buffered', 't4:none'), tLine('buffered', 't4:send-queue'), tLine('buffered', 't4:all')].join('\n'),
  'udp-buffers': [T_HEAD, ...only('udp-buffers')].join('\n'),
  'no-default-stun': [L_HEAD, ...['l:none', 'l:all', 'l:all+prewarm'].map(lLine)].join('\n'),
  'sack-retransmit': [T_HEAD, tLine('drop', 'd:none'), tLine('drop', 'd:all'), tLine('drop', 'd:-sack-retransmit'), ...only('sack-retransmit')].join('\n'),
  'tsn-order': [T_HEAD, ...only('tsn-order')].join('\n'),
  'dtls-first-flight': [L_HEAD, ...['l:none', 'l:dtls-first-flight', 'l:all'].map(lLine)].join('\n'),
  'sctp-packet': [T_HEAD, ...only('sctp-packet')].join('\n'),
  'sack-frequency': [T_HEAD, ...only('sack-frequency'), tLine('drop', 'd:all'), tLine('drop', 'd:-sack-frequency')].join('\n'),
  'fast-path': [T_HEAD, ...only('fast-path')].join('\n'),
};

let doc = readFileSync(args.doc, 'utf8');
for (const [name, body] of Object.entries(sections)) {
  const re = new RegExp(`(<!-- werift-bench:${name}:begin -->)[\\s\\S]*?(<!-- werift-bench:${name}:end -->)`);
  if (!re.test(doc)) {
    console.error(`no markers for ${name} in ${args.doc}`);
    continue;
  }
  doc = doc.replace(re, (_m, begin: string, end: string) => `${begin}\n${body}\n${end}`);
}
writeFileSync(args.doc, doc);
console.error(`wrote ${args.doc} and ${args.out}`);
