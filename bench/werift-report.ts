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
const tput = (id: string, label: string, patches: string, extra: string[] = []): Config => ({
  id,
  label,
  argv: ['--mode', 'throughput', '--patches', patches, '--seconds', args.seconds, ...extra],
});
const CONFIGS: readonly Config[] = [
  tput('t:none', 'werift unpatched', 'none'),
  tput('t:all', 'werift, all patches', ALL),
  { id: 't:ndc', label: 'node-datachannel (libdatachannel)', argv: ['--mode', 'throughput', '--engine', 'node-datachannel', '--seconds', args.seconds] },
  ...WERIFT_PATCH_NAMES.map((n) => tput(`t:${n}`, `werift, only ${n}`, n)),
  tput('t4:none', 'werift unpatched, 4 MiB buffered', 'none', ['--max-buffered', String(4 * 1024 * 1024)]),
  tput('t4:send-queue', 'werift, only send-queue, 4 MiB buffered', 'send-queue', ['--max-buffered', String(4 * 1024 * 1024)]),
  tput('t4:all', 'werift, all patches, 4 MiB buffered', ALL, ['--max-buffered', String(4 * 1024 * 1024)]),
  tput('d:none', 'werift unpatched, 1% records dropped', 'none', ['--drop', '1']),
  tput('d:all', 'werift, all patches, 1% dropped', ALL, ['--drop', '1']),
  tput('d:-sack-retransmit', 'werift, all but sack-retransmit, 1% dropped', without('sack-retransmit'), ['--drop', '1']),
  tput('d:-sack-frequency', 'werift, all but sack-frequency, 1% dropped', without('sack-frequency'), ['--drop', '1']),
  { id: 'l:none', label: 'werift unpatched', argv: ['--mode', 'latency', '--patches', 'none'] },
  { id: 'l:dtls-first-flight', label: 'werift, only dtls-first-flight', argv: ['--mode', 'latency', '--patches', 'dtls-first-flight'] },
  { id: 'l:all', label: 'werift, all patches', argv: ['--mode', 'latency', '--patches', ALL] },
  { id: 'l:all+prewarm', label: 'werift, all patches, prewarmWerift() at start-up', argv: ['--mode', 'latency', '--patches', ALL, '--prewarm'] },
  { id: 'l:ndc', label: 'node-datachannel (libdatachannel)', argv: ['--mode', 'latency', '--engine', 'node-datachannel'] },
];

type Result = Record<string, unknown> & { error?: string };

function run(config: Config): Result {
  try {
    const out = execFileSync(process.execPath, [script, ...config.argv], { encoding: 'utf8', timeout: 90_000, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = out.trim().split('\n').at(-1) ?? '{}';
    return JSON.parse(line) as Result;
  } catch (error) {
    return { error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const num = (r: Result, k: string): number => (typeof r[k] === 'number' ? (r[k]) : NaN);
const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

const rounds = Number(args.rounds);
const results = new Map<string, Result[]>(CONFIGS.map((c) => [c.id, []]));
const started = new Date().toISOString();
const loadBefore = loadavg()[0] ?? NaN;
for (let round = 1; round <= rounds; round++) {
  for (const config of CONFIGS) {
    const r = run(config);
    results.get(config.id)?.push(r);
    console.error(`[round ${round}/${rounds}] ${config.id}: ${r.error ?? fmt(num(r, 'mbPerSecond')) + ' MB/s ' + fmt(num(r, 'firstMs'), 0)}`);
  }
}
const loadAfter = loadavg()[0] ?? NaN;
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify({ started, configs: CONFIGS, results: Object.fromEntries(results) }, null, 2));

// ---- markdown -------------------------------------------------------------------------------------
interface TRow {
  mb: number;
  mbMin: number;
  mbMax: number;
  sCpu: number;
  rCpu: number;
  ok: string;
}
function tRow(id: string): TRow {
  const rs = (results.get(id) ?? []).filter((r) => !r.error);
  const mbs = rs.map((r) => num(r, 'mbPerSecond'));
  const bad = (results.get(id) ?? []).length - rs.filter((r) => r.complete === true && r.inOrder === true).length;
  return {
    mb: median(mbs),
    mbMin: Math.min(...mbs),
    mbMax: Math.max(...mbs),
    sCpu: median(rs.map((r) => num(r, 'senderCpuPerMb'))) * 1000,
    rCpu: median(rs.map((r) => num(r, 'receiverCpuPerMb'))) * 1000,
    ok: bad === 0 ? `${rs.length}/${rs.length}` : `${rs.length - bad}/${(results.get(id) ?? []).length}`,
  };
}
function tLine(id: string): string {
  const c = CONFIGS.find((x) => x.id === id);
  const r = tRow(id);
  return `| ${c?.label ?? id} | ${fmt(r.mb)} | ${fmt(r.mbMin)}-${fmt(r.mbMax)} | ${fmt(r.sCpu)} | ${fmt(r.rCpu)} | ${r.ok} |`;
}
const T_HEAD = '| configuration | MB/s (median) | MB/s range | sender CPU ms/MB | receiver CPU ms/MB | complete & in order |\n|---|---:|---:|---:|---:|---:|';
function lLine(id: string): string {
  const c = CONFIGS.find((x) => x.id === id);
  const rs = (results.get(id) ?? []).filter((r) => !r.error);
  const warm = (k: string): number => median(rs.map((r) => ((r.warm as Record<string, number> | undefined)?.[k] ?? NaN)));
  return `| ${c?.label ?? id} | ${fmt(warm('p50Ms'), 0)} | ${fmt(warm('p99Ms'), 0)} | ${fmt(median(rs.map((r) => num(r, 'firstMs'))), 0)} | ${fmt(median(rs.map((r) => num(r, 'firstUptimeMs'))), 0)} |`;
}
const L_HEAD = '| configuration | warm p50 ms | warm p99 ms | first connection in a fresh process, ms | process uptime when it opened, ms |\n|---|---:|---:|---:|---:|';

const cmd = `node .bench-out/werift/bench/werift-report.js --rounds ${rounds} --seconds ${args.seconds}`;
const provenance = `Measured ${started} with \`${cmd}\` (build: see "How to reproduce"); ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, load average ${fmt(loadBefore, 2)} before / ${fmt(loadAfter, 2)} after (the machine is shared). Medians of ${rounds} interleaved runs, ${args.seconds} s each; 16 KiB messages, sender keeps bufferedAmount <= 256 KiB unless noted; 1 MB = 10^6 bytes.`;

const sections: Record<string, string> = {
  summary: [
    provenance,
    '',
    '**Throughput** (two processes, loopback, default MTU):',
    '',
    T_HEAD,
    ...['t:none', 't:all', 't:ndc', 't4:none', 't4:all', 'd:none', 'd:all'].map(tLine),
    '',
    '**createOffer -> data channel open** (two processes, non-trickle, 1 + 20 connections per run):',
    '',
    L_HEAD,
    ...['l:none', 'l:dtls-first-flight', 'l:all', 'l:all+prewarm', 'l:ndc'].map(lLine),
  ].join('\n'),
  'per-patch': [provenance, '', 'Each patch applied alone, against unpatched werift in the same rounds:', '', T_HEAD, tLine('t:none'), ...WERIFT_PATCH_NAMES.map((n) => tLine(`t:${n}`)), tLine('t:all')].join('\n'),
  'send-queue': [T_HEAD, tLine('t4:none'), tLine('t4:send-queue'), tLine('t4:all'), tLine('t:none'), tLine('t:send-queue')].join('\n'),
  'udp-buffers': [T_HEAD, tLine('t:none'), tLine('t:udp-buffers')].join('\n'),
  'sack-retransmit': [T_HEAD, tLine('d:none'), tLine('d:all'), tLine('d:-sack-retransmit'), tLine('t:none'), tLine('t:sack-retransmit')].join('\n'),
  'tsn-order': [T_HEAD, tLine('t:none'), tLine('t:tsn-order')].join('\n'),
  'dtls-first-flight': [L_HEAD, lLine('l:none'), lLine('l:dtls-first-flight'), lLine('l:all')].join('\n'),
  'sctp-packet': [T_HEAD, tLine('t:none'), tLine('t:sctp-packet')].join('\n'),
  'sack-frequency': [T_HEAD, tLine('t:none'), tLine('t:sack-frequency'), tLine('d:all'), tLine('d:-sack-frequency')].join('\n'),
  'fast-path': [T_HEAD, tLine('t:none'), tLine('t:fast-path')].join('\n'),
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
