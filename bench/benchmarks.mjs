/**
 * Rewrites BENCHMARKS.md from measurements: runs the full `sigctl bench` set (connect, throughput,
 * signaling with the floor, one `serve --redis` node vs two, werift vs node-datachannel), each with
 * `--out <results>/<name>.json`, and composes the file from bench/benchmarks-head.md, the machine
 * facts, each run's command and verbatim output, and tables computed from the JSON documents.
 *
 *   npm run build && node bench/benchmarks.mjs [--quick] [--only name,name] [--compose]
 *
 * --quick (or SIGCTL_BENCH_QUICK=1) shortens every run and writes to .bench-out/benchmarks-quick/
 * (for testing this script); --only runs a subset (the others show as n/a); --compose measures
 * nothing and rewrites the file from the last run's results (<results>/benchmarks-run.json: machine
 * facts, transcripts, node CPU), e.g. after editing the prose. Exits 1 when a run produced no JSON
 * document. Needs a build, redis-server on PATH, and a quiet machine for figures worth keeping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMs, NODE_ENV, runBench, settle, startNode, startRedis, stop, stopAll } from './benchmarks-procs.mjs';
import { connectTable, goalsTable, goalsTally, multinodeRatios, multinodeTable, n, rampNote, throughputTable } from './benchmarks-tables.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, compose: { type: 'boolean', default: false } } });
const quick = opts.quick || process.env.SIGCTL_BENCH_QUICK === '1';
const only = opts.only?.split(',').map((s) => s.trim());
const outDir = quick ? join(root, '.bench-out/benchmarks-quick') : root;
const resultsDir = quick ? join(outDir, 'results') : join(root, 'bench/results');
const docPath = join(outDir, 'BENCHMARKS.md');
/** What a run leaves besides the bench's own JSON documents, so that --compose can rewrite the file without measuring. */
const RUN_FILE = 'benchmarks-run.json';
const q = (full, short) => (quick ? short : full);

// ---- the run set -------------------------------------------------------------------------------

const sig = (clients, rate, duration, extra = []) => ['signaling', '--clients', String(clients), '--room-size', '2', '--rate', String(rate), '--duration', String(duration), ...extra];
const c200 = { clients: q(200, 20), rate: 10, duration: q(10, 1) };
// 20 s windows: at 2,000 signals/s the server spends ~1 s of CPU per window, 100 clock ticks.
const c2000 = { clients: q(2000, 100), rate: 1, duration: q(20, 1) };
const ramp = { clients: q(200, 20), rate: 10, duration: q(3, 1) };
const tputS = q(5, 1);
const pairsSet = q([1, 10, 50], [1, 2, 3]);

/** Local runs: name (JSON file), heading, bench arguments, safety timeout. */
const RUNS = [
  {
    name: 'signaling-c200',
    title: `Signaling: C=${c200.clients} clients, rooms of 2, ${c200.rate} signals/s each (${(c200.clients * c200.rate).toLocaleString('en-US')}/s), ${c200.duration} s, vs the floor`,
    args: sig(c200.clients, c200.rate, c200.duration, ['--vs-floor']),
    timeoutMs: 180_000,
  },
  // Three runs of the large case: its memory and CPU ratios are the goals that sit closest to 1.2x.
  ...['', '-2', '-3'].map((suffix, i) => ({
    name: `signaling-c2000${suffix}`,
    title: `Signaling: C=${c2000.clients} clients, rooms of 2, ${c2000.rate} signal/s each (${(c2000.clients * c2000.rate).toLocaleString('en-US')}/s), ${c2000.duration} s, vs the floor (run ${i + 1} of 3)`,
    args: sig(c2000.clients, c2000.rate, c2000.duration, ['--vs-floor']),
    timeoutMs: 240_000,
  })),
  {
    name: 'signaling-ramp',
    title: `Signaling ramp: C=${ramp.clients}, rooms of 2, from ${(ramp.clients * ramp.rate).toLocaleString('en-US')}/s, x1.5 per ${ramp.duration} s window, p99 bound 50 ms, vs the floor`,
    args: sig(ramp.clients, ramp.rate, ramp.duration, ['--ramp', '--max-relay-p99', '50', '--vs-floor']),
    timeoutMs: 420_000,
  },
  ...pairsSet.map((p, i) => ({
    name: `connect-p${[1, 10, 50][i]}`,
    title: `Connect: P=${p} pair${p === 1 ? '' : 's'} of werift peers`,
    args: ['connect', '--pairs', String(p)],
    timeoutMs: 120_000,
  })),
  ...[16384, 65536].map((size) => ({
    name: `throughput-${size / 1024}k`,
    title: `Throughput: 1 pair, ${size / 1024} KiB messages, ${tputS} s, ordered, werift`,
    args: ['throughput', '--pairs', '1', '--duration', String(tputS), '--message-size', String(size)],
    timeoutMs: 120_000,
  })),
  {
    name: 'throughput-16k-unordered',
    title: `Throughput: 1 pair, 16 KiB messages, ${tputS} s, unordered, werift`,
    args: ['throughput', '--unordered', '--pairs', '1', '--duration', String(tputS), '--message-size', '16384'],
    timeoutMs: 120_000,
  },
  {
    name: 'throughput-16k-ndc',
    title: `Throughput: 1 pair, 16 KiB messages, ${tputS} s, ordered, node-datachannel`,
    args: ['throughput', '--engine', 'node-datachannel', '--pairs', '1', '--duration', String(tputS), '--message-size', '16384'],
    timeoutMs: 120_000,
  },
  {
    name: 'connect-p10-ndc',
    title: `Connect: P=${pairsSet[1]} pairs of node-datachannel peers`,
    args: ['connect', '--engine', 'node-datachannel', '--pairs', String(pairsSet[1])],
    timeoutMs: 120_000,
  },
];
const mn = { clients: q(200, 20), rate: 10, duration: q(10, 1) };
const MULTI = [
  { name: 'multinode-1', nodes: 1, label: 'one node' },
  { name: 'multinode-2', nodes: 2, label: 'two nodes, clients spread' },
];
const selected = (name) => only === undefined || only.includes(name);

// ---- machine facts -----------------------------------------------------------------------------

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
  } catch {
    return 'unknown';
  }
}
const pkgVersion = (dir) => {
  try {
    return JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
};
function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (k) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
  const dirty = sh('git', ['status', '--porcelain', '--', 'src', 'bin', 'package.json']);
  return {
    nproc: sh('nproc', []),
    cpus: cpus().length,
    model: field('model name'),
    mhz: field('cpu MHz'),
    memMiB: Math.round(memKiB / 1024),
    kernel: release(),
    node: process.version,
    werift: pkgVersion('node_modules/werift'),
    ndc: pkgVersion('node_modules/node-datachannel'),
    sigctl: pkgVersion('.'),
    redis: /v=(\S+)/.exec(sh('redis-server', ['--version']))?.[1] ?? 'unknown',
    commit: sh('git', ['rev-parse', '--short', 'HEAD']),
    dirty: dirty === '' || dirty === 'unknown' ? [] : dirty.split('\n').map((l) => l.slice(3)),
  };
}

// ---- running -----------------------------------------------------------------------------------

const iso = (d) => d.toISOString().replace(/\.\d+Z$/, 'Z');
const outArg = (name) => relative(root, join(resultsDir, `${name}.json`));
function readDoc(name) {
  try {
    return JSON.parse(readFileSync(join(resultsDir, `${name}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}
/** The verbatim block of one run: command, start and load, stdout, exit code. */
/** The hypervisor's CPU steal during a run, as a share of the machine's CPU time then (noisy neighbours make CPU figures and tail latencies unreliable). */
function stolen(r) {
  if (r.stolenMs === undefined) return '';
  const capacityMs = (r.finishedAt - r.startedAt) * m.nproc;
  return `; CPU steal ${n(r.stolenMs, 0)} ms (${((100 * r.stolenMs) / capacityMs).toFixed(1)}% of ${m.nproc} CPUs)`;
}

function transcript(setup, args, r, extra = []) {
  const out = r.stdout.replace(/\s+$/, '');
  const failed = r.code !== 0 && r.stderr.trim() !== '' ? ['# stderr (tail):', ...r.stderr.trim().split('\n').slice(-8).map((l) => `#   ${l}`)] : [];
  return [
    '```',
    ...setup.map((l) => `$ ${l}`),
    `$ sigctl bench ${args.join(' ')}`,
    `# started ${iso(r.startedAt)}, load average: ${r.load}`,
    out,
    `# exit ${r.code}${r.timedOut ? ' (stopped by the generator: timed out)' : ''}, ${((r.finishedAt - r.startedAt) / 1000).toFixed(1)} s${stolen(r)}`,
    ...failed,
    ...extra,
    '```',
  ].join('\n');
}

const docs = new Map();
const blocks = new Map();
const missing = [];

/** Issue 5's fresh-process figure: bench/peer-startup.mjs prints its own markdown, kept as a block. */
const STARTUP_RUNS = q(15, 3);
function runStartup() {
  const args = ['bench/peer-startup.mjs', String(STARTUP_RUNS), '--markdown'];
  process.stderr.write(`\n== peer-startup: node ${args.join(' ')}\n`);
  try {
    const out = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'inherit'] });
    blocks.set('peer-startup', out.trim());
  } catch (err) {
    missing.push('peer-startup');
    blocks.set('peer-startup', `_bench/peer-startup.mjs failed: ${String(err?.message ?? err).split('\n')[0]}_`);
  }
}

async function runLocal(run) {
  const args = [...run.args, '--out', outArg(run.name)];
  process.stderr.write(`\n== ${run.name}: sigctl bench ${args.join(' ')}\n`);
  rmSync(join(resultsDir, `${run.name}.json`), { force: true });
  const r = await runBench({ root, args, timeoutMs: run.timeoutMs });
  const doc = readDoc(run.name);
  if (doc === undefined) missing.push(run.name);
  docs.set(run.name, doc);
  blocks.set(run.name, transcript([], args, r));
  await settle();
}

/** One multi-node case: a fresh redis-server and `nodes` serve nodes, the bench with one --url each, CPU of each around it. */
async function runMulti(c) {
  process.stderr.write(`\n== ${c.name}: redis-server and ${c.nodes} serve --redis node(s)\n`);
  rmSync(join(resultsDir, `${c.name}.json`), { force: true });
  const started = [];
  try {
    const redis = await startRedis();
    started.push(redis.child);
    const nodes = [];
    for (let i = 1; i <= c.nodes; i++) {
      const node = await startNode({ root, redisUrl: redis.url, nodeId: `node${i}` });
      started.push(node.child);
      nodes.push(node);
    }
    const [scenario, ...rest] = sig(mn.clients, mn.rate, mn.duration);
    const args = [scenario, ...nodes.flatMap((x) => ['--url', x.url]), ...rest, '--out', outArg(c.name)];
    const before = { nodes: nodes.map((x) => cpuMs(x.child.pid)), redis: cpuMs(redis.child.pid) };
    const r = await runBench({ root, args, timeoutMs: 180_000 });
    const cpu = {
      nodes: nodes.map((x, i) => ({ nodeId: x.nodeId, ms: (cpuMs(x.child.pid) ?? NaN) - (before.nodes[i] ?? NaN) })),
      redisMs: (cpuMs(redis.child.pid) ?? NaN) - (before.redis ?? NaN),
    };
    const doc = readDoc(c.name);
    if (doc === undefined) missing.push(c.name);
    docs.set(c.name, doc);
    const setup = [
      `${redis.command} &`,
      `export ${Object.entries(NODE_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      ...nodes.map((x) => `${x.command} &   # listening on ${x.url}`),
    ];
    const cpuLines = [
      '# CPU over the whole bench run (joins, 1 s warm-up window, measured window, leaves), /proc/<pid>/stat utime+stime, 10 ms ticks:',
      ...cpu.nodes.map((x) => `#   ${x.nodeId}: ${n(x.ms, 0)} ms`),
      `#   redis-server: ${n(cpu.redisMs, 0)} ms`,
    ];
    blocks.set(c.name, transcript(setup, args, r, cpuLines));
    return { name: c.name, label: c.label, doc, cpu };
  } finally {
    for (const child of started.reverse()) await stop(child);
    await settle();
  }
}

// ---- composing ---------------------------------------------------------------------------------

function weriftSection() {
  const text = readFileSync(join(root, 'docs/werift-patches.md'), 'utf8');
  const m = /<!-- werift-bench:summary:begin -->\n([\s\S]*?)\n<!-- werift-bench:summary:end -->/.exec(text);
  const body = m?.[1] ?? '_The summary markers were not found in docs/werift-patches.md._';
  return [
    '## werift before and after the patches (issue 5)',
    '',
    'Copied from the summary of [docs/werift-patches.md](docs/werift-patches.md), which',
    '`npm run bench:werift` (bench/werift-report.ts) generated; not re-measured by this run, so the',
    'date, command and load average are that script\'s (below). The per-patch tables and the CPU',
    'profiles before/after are in docs/werift-patches.md.',
    '',
    body,
  ].join('\n');
}

function machineSection(m, startedAt, finishedAt) {
  const dirty = m.dirty.length === 0 ? 'no uncommitted changes under src/, bin/ or package.json' : `uncommitted changes at the time in: ${m.dirty.join(', ')}`;
  return [
    '## Machine',
    '',
    `- CPU: ${m.nproc} vCPUs (\`nproc\`; Node sees ${m.cpus}), model \`${m.model}\` at ${m.mhz} MHz (from /proc/cpuinfo)`,
    `- Memory: ${m.memMiB} MiB; kernel ${m.kernel}`,
    `- Node ${m.node}, werift ${m.werift}, node-datachannel ${m.ndc}, redis-server ${m.redis}`,
    `- sigctl ${m.sigctl}, \`dist/\` built from the working tree at commit ${m.commit} (${dirty})`,
    `- Date: ${iso(startedAt).slice(0, 10)}, runs between ${iso(startedAt).slice(11, 16)} and ${iso(finishedAt).slice(11, 16)} UTC${quick ? ' (**quick mode: every run shortened; not figures to keep**)' : ''}; the 1-minute load average at the start of each run and the hypervisor's CPU steal during it are printed with it`,
  ].join('\n');
}

const section = (title, name) => `### ${title}\n\n${blocks.get(name) ?? '_not run_'}`;
const pick = (names) => names.map((x) => [x, docs.get(x)]);

/**
 * Sections measured by their own scripts (bench/sections/NAME.md, each written by the script it
 * names, with its command, machine and date), included verbatim in file-name order so that a new
 * measurement needs no edit of this generator.
 */
function extraSections() {
  const dir = join(root, 'bench/sections');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .flatMap((f) => [`<!-- From bench/sections/${f}, written by the script it names. -->`, readFileSync(join(dir, f), 'utf8').replace(/\s+$/, ''), '']);
}

function compose(m, startedAt, finishedAt, multi) {
  const head = readFileSync(join(root, 'bench/benchmarks-head.md'), 'utf8').replace(/\s+$/, '');
  const goalDocs = pick(['signaling-c200', 'signaling-c2000', 'signaling-c2000-2', 'signaling-c2000-3', 'signaling-ramp']);
  const parts = [
    `<!-- Generated by bench/benchmarks.mjs at ${iso(finishedAt)}. Do not edit: change bench/benchmarks-head.md or the generator and re-run it. -->`,
    '',
    head,
    '',
    machineSection(m, startedAt, finishedAt),
    '',
    '## Goals of issue 4: `sigctl serve` vs the floor (same run, same clients)',
    '',
    'Goals: CPU per relayed message <= 1.2x the floor, memory per joined connection <= 1.2x, delivered/expected',
    "exactly 1.0, ramp maximum >= 0.8x the floor's. Each cell is sigctl / floor from one `--vs-floor` run's",
    'JSON document; "met"/"missed" is the bench\'s own verdict (`results.comparison.goals`).',
    '',
    goalsTable(goalDocs),
    '',
    `${goalsTally(goalDocs)}.`,
    '',
    rampNote(docs.get('signaling-ramp')),
    '',
    '## Connect (join latency by phase)',
    '',
    connectTable(pick(['connect-p1', 'connect-p10', 'connect-p50', 'connect-p10-ndc'])),
    '',
    '## Throughput and engines side by side (same server, one pair)',
    '',
    throughputTable(pick(['throughput-16k', 'throughput-64k', 'throughput-16k-unordered', 'throughput-16k-ndc'])),
    '',
    `## Signaling across nodes: one \`serve --redis\` node vs two (C=${mn.clients}, rooms of 2, ${mn.rate} signals/s, ${mn.duration} s)`,
    '',
    `From the full run of this script (${iso(startedAt).slice(0, 10)}). One build's cross-node path against the build before it, and against a same-node signal of the same two nodes, is in "Signaling across nodes: node links" below (bench/multinode-cost.mjs, with its own date).`,
    '',
  ];
  if (multi.length === 2) {
    const ratio = multinodeRatios(multi);
    parts.push(
      multinodeTable(multi),
      '',
      `Two nodes spent ${n(ratio.nodeCpu)}x the node CPU of one node and Redis ${n(ratio.redisCpu)}x (a cross-node signal is`,
      "handled by the sender's node and again by the receiver's). Both nodes, redis-server and the load generator share",
      'the same 2 cores, so a second node cannot add capacity here: the comparison shows what crossing nodes costs.',
      '',
    );
  } else parts.push('_not run_', '');
  parts.push(
    weriftSection(),
    '',
    '## A fresh `sigctl peer` process (issue 5: connected <= 250 ms after start)',
    '',
    blocks.get('peer-startup') ?? '_not run_',
    '',
    '<!-- From bench/benchmarks-server-relay.md (static prose, kept as written). -->',
    '_This section was written by the server work of issue 4 and is included as written, from',
    'bench/benchmarks-server-relay.md: its figures come from the runs it describes, at the times it states,',
    'not from the run of this generator that produced the rest of this file._',
    '',
    readFileSync(join(root, 'bench/benchmarks-server-relay.md'), 'utf8').replace(/\s+$/, ''),
    '',
    ...extraSections(),
    '## Runs: commands and verbatim output',
    '',
    ...RUNS.filter((r) => r.name.startsWith('signaling')).map((r) => section(r.title, r.name) + '\n'),
    ...RUNS.filter((r) => r.name.startsWith('connect-p') && !r.name.endsWith('ndc')).map((r) => section(r.title, r.name) + '\n'),
    ...RUNS.filter((r) => r.name.startsWith('throughput') || r.name.endsWith('ndc')).map((r) => section(r.title, r.name) + '\n'),
    ...MULTI.map((c) => section(`Signaling across nodes: ${c.label}`, c.name) + '\n'),
    '## Reproduce',
    '',
    '```sh',
    'npm run build && node bench/benchmarks.mjs      # everything above, rewrites this file and bench/results/',
    ...RUNS.map((r) => `node bin/sigctl bench ${r.args.join(' ')} --out bench/results/${r.name}.json`),
    '# one node vs two: the redis-server and serve commands in "Signaling across nodes" above, then the bench with one --url per node',
    `node bench/peer-startup.mjs ${STARTUP_RUNS} --markdown   # a fresh sigctl peer process, spawn -> peer-connected`,
    '```',
    '',
    '`bench/floor.sh [PORT]` runs the floor alone, for `sigctl bench signaling --url ws://127.0.0.1:PORT/ws` or any other load',
    'generator. `bench/smoke.sh` is the CI smoke run (`npm run smoke`): each scenario briefly, gated on failures.',
    '',
  );
  return parts.join('\n');
}

// ---- main --------------------------------------------------------------------------------------

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${sig}: stopping everything this generator started\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

if (!existsSync(join(root, 'dist/cli/main.js'))) {
  process.stderr.write('no build: run `npm run build` first\n');
  process.exit(1);
}
mkdirSync(resultsDir, { recursive: true });
if (opts.compose) {
  if (!existsSync(join(resultsDir, RUN_FILE))) {
    process.stderr.write(`no ${relative(root, join(resultsDir, RUN_FILE))}: run the generator without --compose first\n`);
    process.exit(1);
  }
  const saved = JSON.parse(readFileSync(join(resultsDir, RUN_FILE), 'utf8'));
  if (saved.quick !== quick) throw new Error(`${RUN_FILE} is from a ${saved.quick ? 'quick' : 'full'} run: compose it the same way`);
  for (const [name, text] of Object.entries(saved.blocks)) blocks.set(name, text);
  for (const r of [...RUNS, ...MULTI]) docs.set(r.name, readDoc(r.name));
  const multi = saved.multi.map((c) => ({ ...c, doc: docs.get(c.name) }));
  writeFileSync(docPath, compose(saved.machine, new Date(saved.startedAt), new Date(saved.finishedAt), multi));
  process.stderr.write(`rewrote ${relative(root, docPath)} from ${relative(root, join(resultsDir, RUN_FILE))} and the JSON documents (nothing measured)\n`);
  process.exit(0);
}
const m = machine();
const startedAt = new Date();
try {
  for (const run of RUNS) if (selected(run.name)) await runLocal(run);
  const multi = [];
  for (const c of MULTI) if (selected(c.name)) multi.push(await runMulti(c));
  if (selected('peer-startup')) {
    runStartup();
    await settle();
  }
  const finishedAt = new Date();
  // The results directory holds exactly this set, so that every JSON document there is one shown here.
  if (only === undefined) {
    const keep = new Set([...RUNS, ...MULTI].map((r) => `${r.name}.json`).concat(RUN_FILE));
    for (const f of readdirSync(resultsDir)) if (f.endsWith('.json') && !keep.has(f)) rmSync(join(resultsDir, f));
  }
  const run = { generator: 'bench/benchmarks.mjs', quick, startedAt, finishedAt, machine: m, blocks: Object.fromEntries(blocks), multi: multi.map(({ name, label, cpu }) => ({ name, label, cpu })) };
  writeFileSync(join(resultsDir, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(docPath, compose(m, startedAt, finishedAt, multi));
  process.stderr.write(`\nwrote ${relative(root, docPath)} and ${relative(root, resultsDir)}/ in ${((finishedAt - startedAt) / 1000).toFixed(0)} s\n`);
  if (missing.length > 0) {
    process.stderr.write(`no JSON document from: ${missing.join(', ')}\n`);
    process.exitCode = 1;
  }
} finally {
  await stopAll();
}
