/**
 * The cost of a cross-node signal (issue 17): one `sigctl serve --redis` node against two with every
 * room spanning them, same procedure as BENCHMARKS.md "Signaling across nodes" (a fresh
 * redis-server per case, `sigctl bench signaling` with one --url per node, CPU of the nodes and of
 * redis-server from /proc/<pid>/stat around the bench run, Redis INFO commandstats).
 *
 *   npm run build && flock /work/bench.lock node bench/multinode-cost.mjs [--before <dir>] [--rounds N]
 *       [--clients 200] [--rate 10] [--duration 10] [--profile <dir>] [--section <file.md>]
 *       [--node-env SIGCTL_NAME=VALUE ...] [--variant SIGCTL_NAME=VALUE ...] [--same-node] [--pin] [--floor] [--floor-tcp]
 *
 * --before runs the nodes of a second build (another checkout with `npm run build` done) in the
 * same session, interleaved, so before/after ratios share the machine's load; the load generator
 * is always this checkout's. --profile starts the nodes with --cpu-prof (a sample every 100 µs) into
 * <dir>/<case>/.
 * --section writes the results as a BENCHMARKS.md section (bench/sections/70-cross-node.md).
 * --variant runs this build a second time per round with the given SIGCTL_* settings on its nodes
 * (e.g. SIGCTL_REDIS_LINKS_COALESCE_MS=20), interleaved like --before: a setting against the
 * default, same build, same session. (Not with --before.)
 * --same-node adds a third case per build: the same two nodes with each room whole on one node
 * (`bench signaling --spread rooms`), so that a cross-node signal is also compared with a
 * same-node signal of the same deployment, not only with a one-node deployment's.
 * --floor adds the floor as one more build, interleaved: the same cases on bench/floor-node.mjs
 * processes (the floor relay, src/bench/floor.ts; two of them linked by one WebSocket) instead of
 * sigctl nodes: what a cross-node signal costs at least in Node with `ws`, on this machine, under
 * the same load and placement (its redis-server idles). --floor-tcp adds the floor once more with
 * its link on plain TCP instead of a WebSocket (floor-node.mjs --tcp).
 * --pin puts the system under test (the nodes and redis-server) on the first half of the CPUs and
 * the load generator (this script's children: `sigctl bench` and its workers) on the rest, with
 * `taskset` (as `sigctl bench` pins a local server, src/bench/pinning.ts): the nodes' CPU is then
 * not spent on, or charged for, waking a generator on their core, and the cases compare the same
 * placement. Without it every process may run on any CPU.
 *
 * Two spans are measured: the whole bench run (joins, warm-up, steady window, leaves), and the
 * steady window alone: sampled when the bench prints that its steady window starts ("steady: ...
 * for N s" on stderr) and again N s later, so joins and leaves (Redis scripts, subscribes) are
 * left out and the figure is per signal. Redis INFO stats (reads and writes processed, i.e. the
 * socket calls) are taken over the window too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMs, loadAverage, parseNodeEnv, pinApart, runBench, settle, startFloorNode, startNode, startRedis, stop, stopAll } from './benchmarks-procs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    clients: { type: 'string', default: '200' },
    rate: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10' },
    profile: { type: 'string' },
    section: { type: 'string' },
    'node-env': { type: 'string', multiple: true, default: [] },
    variant: { type: 'string', multiple: true, default: [] },
    'same-node': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    'floor-tcp': { type: 'boolean', default: false },
  },
});

/** --pin: the CPUs of the system under test and of the generator, this process moved to the latter; undefined without --pin. */
const pinning = opts.pin ? pinApart() : undefined;
/** Moves a process of the system under test (every thread) to its CPUs under --pin. */
const pinServer = (pid) => pinning?.pinServer(pid);
/** --node-env NAME=VALUE (repeatable): set for this build's nodes only (the --before build may not know the key). */
const nodeEnv = parseNodeEnv(opts['node-env'], 'node-env');
/** --variant NAME=VALUE (repeatable): this build again, with these set on its nodes. */
const variantEnv = parseNodeEnv(opts.variant, 'variant');
if (opts.variant.length > 0 && opts.before !== undefined) throw new Error('--variant and --before do not go together');
const outDir = join(root, '.bench-out/multinode-cost');
mkdirSync(outDir, { recursive: true });

const git = (dir, args) => {
  try {
    return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
};
const versions = [
  ...(opts.before === undefined ? [] : [{ name: 'before', root: resolve(opts.before), env: {} }]),
  { name: opts.before === undefined ? 'this build' : 'after', root, env: nodeEnv },
  ...(opts.variant.length === 0 ? [] : [{ name: opts.variant.join(' '), root, env: { ...nodeEnv, ...variantEnv } }]),
  ...(opts.floor ? [{ name: 'floor', root, env: {}, floor: true }] : []),
  ...(opts['floor-tcp'] ? [{ name: 'floor-tcp', root, env: {}, floor: true, tcp: true }] : []),
].map((v) => ({ ...v, commit: git(v.root, ['rev-parse', '--short', 'HEAD']), dirty: git(v.root, ['status', '--porcelain', '--', 'src']) !== '' }));

/** INFO commandstats as { cmd: { calls, usec } }. */
function commandStats(port) {
  const text = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats'], { encoding: 'utf8' });
  const out = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}

/** INFO stats counters of the socket work: { reads, writes } processed. */
function ioStats(port) {
  const text = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'stats'], { encoding: 'utf8' });
  const n = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { reads: n('total_reads_processed'), writes: n('total_writes_processed') };
}

/** One case: a fresh redis-server, `nodes` nodes of `version`, the bench, CPU around it and around its steady window. */
async function runCase(version, nodes, round, spread = 'members') {
  const tag = `${version.name.replace(/\s+/g, '-')}-${nodes}n${spread === 'rooms' ? '-rooms' : ''}-r${round}`;
  process.stderr.write(`\n== ${tag}: redis-server and ${nodes} node(s) from ${version.root}\n`);
  const started = [];
  try {
    const redis = await startRedis();
    started.push(redis.child);
    pinServer(redis.child.pid);
    const list = [];
    for (let i = 1; i <= nodes && version.floor === true; i++) {
      const profDir = opts.profile === undefined ? undefined : join(resolve(opts.profile), tag);
      if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
      const nodeArgs = profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', profDir];
      const node = await startFloorNode({ root, dial: list[0]?.link, nodeArgs, tcp: version.tcp === true });
      started.push(node.child);
      pinServer(node.child.pid);
      list.push(node);
    }
    for (let i = 1; i <= nodes && version.floor !== true; i++) {
      const profDir = opts.profile === undefined ? undefined : join(resolve(opts.profile), tag);
      if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
      const nodeArgs = profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', profDir];
      const node = await startNode({ root: version.root, redisUrl: redis.url, nodeId: `node${i}`, nodeArgs, nodeEnv: version.env });
      started.push(node.child);
      pinServer(node.child.pid);
      list.push(node);
    }
    const out = join(outDir, `${tag}.json`);
    rmSync(out, { force: true });
    const args = ['signaling', ...list.flatMap((x) => ['--url', x.url]), ...(spread === 'rooms' ? ['--spread', 'rooms'] : []), '--clients', opts.clients, '--room-size', '2', '--rate', opts.rate, '--duration', opts.duration, '--out', out];
    const stats0 = commandStats(redis.port);
    const sample = () => ({ nodes: list.map((x) => cpuMs(x.child.pid)), redis: cpuMs(redis.child.pid), cmds: commandStats(redis.port), io: ioStats(redis.port) });
    const before = { nodes: list.map((x) => cpuMs(x.child.pid)), redis: cpuMs(redis.child.pid) };
    // The steady window: from the bench's "steady: ... for N s" line to N s later.
    const window = { start: undefined, end: undefined, timer: undefined, fraction: 1 };
    let seen = '';
    const onStderr = (chunk) => {
      if (window.timer !== undefined) return;
      seen = (seen + chunk).slice(-400);
      const m = /steady: [^\n]* for ([\d.]+) s/.exec(seen);
      if (m === null) return;
      // Sampled 0.5 s inside each end (the bench's clock and ours start apart; the leaves follow at once).
      const seconds = Number(m[1]);
      window.fraction = (seconds - 1) / seconds;
      window.timer = setTimeout(() => {
        window.start = sample();
        window.timer = setTimeout(() => (window.end = sample()), (seconds - 1) * 1000);
      }, 500);
    };
    const r = await runBench({ root, args, timeoutMs: 120_000, onStderr });
    clearTimeout(window.timer);
    const steadyOk = window.start !== undefined && window.end !== undefined;
    const diffCmds = (a, b) => {
      const out = {};
      for (const [k, v] of Object.entries(b)) {
        const calls = v.calls - (a[k]?.calls ?? 0);
        if (calls > 0) out[k] = { calls, usec: v.usec - (a[k]?.usec ?? 0) };
      }
      return out;
    };
    const nodeMs = list.map((x, i) => (cpuMs(x.child.pid) ?? NaN) - (before.nodes[i] ?? NaN));
    const redisMs = (cpuMs(redis.child.pid) ?? NaN) - (before.redis ?? NaN);
    const stats1 = commandStats(redis.port);
    const cmds = {};
    for (const [k, v] of Object.entries(stats1)) {
      const calls = v.calls - (stats0[k]?.calls ?? 0);
      if (calls > 0) cmds[k] = { calls, usec: v.usec - (stats0[k]?.usec ?? 0) };
    }
    let doc;
    try {
      doc = JSON.parse(readFileSync(out, 'utf8'));
    } catch {
      doc = undefined;
    }
    const run = doc?.results?.runs?.[0];
    const steady = steadyOk
      ? {
          nodeMs: window.end.nodes.map((x, i) => (x ?? NaN) - (window.start.nodes[i] ?? NaN)),
          redisMs: (window.end.redis ?? NaN) - (window.start.redis ?? NaN),
          cmds: diffCmds(window.start.cmds, window.end.cmds),
          reads: window.end.io.reads - window.start.io.reads,
          writes: window.end.io.writes - window.start.io.writes,
          delivered: (run?.steady?.delivered ?? NaN) * window.fraction,
        }
      : undefined;
    return {
      tag,
      version: version.name,
      nodes,
      spread,
      load: r.load,
      code: r.code,
      delivered: run?.steady?.delivered,
      ratio: run?.steady?.deliveredRatio,
      lost: run?.steady?.lost,
      dup: run?.steady?.duplicates,
      spanning: run?.join?.spanningRooms,
      rooms: run?.join?.rooms,
      relayP50: run?.steady?.relayLatencyMs?.p50,
      relayP99: run?.steady?.relayLatencyMs?.p99,
      generatorElu: run?.steady?.generatorElu,
      generatorBound: run?.steady?.generatorBound,
      nodeMs,
      redisMs,
      cmds,
      steady,
      command: `sigctl bench ${args.map((a) => (a === out ? relative(root, out) : a)).join(' ')}`,
    };
  } finally {
    for (const child of started.reverse()) await stop(child);
    await settle();
  }
}

const f = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const sum = (a) => a.reduce((s, x) => s + x, 0);
const median = (a) => {
  const s = [...a].filter(Number.isFinite).sort((x, y) => x - y);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cmdLine = (cmds) =>
  Object.entries(cmds)
    .sort((a, b) => b[1].usec - a[1].usec)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v.calls}×${f(v.usec / v.calls, 1)}µs`)
    .join(', ');

process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
const startedAt = new Date();
const loadBefore = loadAverage();
const results = [];
try {
  for (let round = 1; round <= Number(opts.rounds); round++) {
    for (const v of versions) {
      for (const nodes of [1, 2]) results.push(await runCase(v, nodes, round));
      if (opts['same-node']) results.push(await runCase(v, 2, round, 'rooms'));
    }
  }
} finally {
  await stopAll();
}
const loadAfter = loadAverage();

const nodesLabel = (c) => (c.spread === 'rooms' ? `${c.nodes}, rooms whole` : String(c.nodes));
const rows = results.map((c) => {
  const perSignal = (sum(c.nodeMs) * 1000) / (c.delivered ?? NaN);
  return `| ${c.version} | r${c.tag.split('-r').at(-1)} | ${nodesLabel(c)} | ${c.nodeMs.map((x) => f(x, 0)).join(' + ')} | ${f(perSignal, 1)} | ${f(c.redisMs, 0)} | ${c.delivered ?? 'n/a'} (${f(c.ratio, 6)}, ${c.dup ?? '?'} dup, ${c.lost ?? '?'} lost) | ${c.nodes === 2 ? `${c.spanning}/${c.rooms}` : '-'} | ${f(c.relayP50)} / ${f(c.relayP99)} | ${cmdLine(c.cmds)} | ${c.load} |`;
});
const steadyRows = results.map((c) => {
  const st = c.steady;
  if (st === undefined) return `| ${c.version} | r${c.tag.split('-r').at(-1)} | ${nodesLabel(c)} | n/a (the steady window was not seen) | | | | | | |`;
  const perSignal = (sum(st.nodeMs) * 1000) / st.delivered;
  const redisPer = (st.redisMs * 1000) / st.delivered;
  return `| ${c.version} | r${c.tag.split('-r').at(-1)} | ${nodesLabel(c)} | ${st.nodeMs.map((x) => f(x, 0)).join(' + ')} | ${f(perSignal, 1)} | ${f(st.redisMs, 0)} | ${f(redisPer, 1)} | ${st.reads} / ${st.writes} | ${cmdLine(st.cmds)} | ${f(c.generatorElu)}${c.generatorBound === true ? ' (generator-bound: no verdict)' : ''} |`;
});
/**
 * Cross-node / base ratios per round for `v`: node CPU per delivered signal and Redis CPU, over
 * `span` (whole run or steady window); base `one` is the one-node case, `same` the two nodes with
 * every room whole on one node.
 */
const ratiosOf = (v, span, base = 'one') => {
  const node = [];
  const redis = [];
  for (let round = 1; round <= Number(opts.rounds); round++) {
    const inRound = (c) => c.version === v.name && c.tag.endsWith(`-r${round}`);
    const one = results.find((c) => inRound(c) && (base === 'one' ? c.nodes === 1 : c.spread === 'rooms'));
    const two = results.find((c) => inRound(c) && c.nodes === 2 && c.spread === 'members');
    if (one === undefined || two === undefined) continue;
    const a = span === 'steady' ? one.steady : { ...one, delivered: one.delivered ?? NaN };
    const b = span === 'steady' ? two.steady : { ...two, delivered: two.delivered ?? NaN };
    if (a === undefined || b === undefined) continue;
    node.push(sum(b.nodeMs) / b.delivered / (sum(a.nodeMs) / a.delivered));
    redis.push(b.redisMs / b.delivered / (a.redisMs / a.delivered));
  }
  return { node, redis };
};
/** One table row of the ratios per round and their medians. */
const ratioRow = (v, span, base = 'one') => {
  const { node, redis } = ratiosOf(v, span, base);
  return `| ${v.name} (${v.commit}${v.dirty ? ', uncommitted changes' : ''}) | ${node.map((x) => f(x)).join(', ')} | **${f(median(node))}x** | ${redis.map((x) => f(x)).join(', ')} | **${f(median(redis))}x** |`;
};
const steadyRatioRows = versions.map((v) => ratioRow(v, 'steady'));
const ratioRows = versions.map((v) => ratioRow(v, 'whole'));
const sameNodeTable = (span) =>
  opts['same-node']
    ? [
        '',
        `| build | ${span === 'steady' ? 'steady window: ' : ''}cross-node / same-node (two nodes, rooms whole) node CPU per delivered signal, per round | median | ${span === 'steady' ? 'steady window: ' : ''}cross-node / same-node Redis CPU per delivered signal, per round | median |`,
        '|---|---|---:|---|---:|',
        ...versions.map((v) => ratioRow(v, span, 'same')),
      ]
    : [];
const cmd = `flock /work/bench.lock node bench/multinode-cost.mjs ${process.argv.slice(2).join(' ')}`.trim();
const text = [
  '## Signaling across nodes: the cost of a cross-node signal (issue 17)',
  '',
  `Measured by \`${cmd}\` (after \`npm run build\`) from ${startedAt.toISOString()}: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}, load average ${loadBefore} before and ${loadAfter} after (1/5/15 min; the machine may be shared with other work, so compare within a round).`,
  `Each case: a fresh redis-server, 1 or 2 \`sigctl serve --redis\` nodes, \`sigctl bench signaling\` with ${opts.clients} clients in rooms of 2, ${opts.rate} signals/s each, ${opts.duration} s (with two nodes the clients alternate between the --urls, so every room spans both nodes${opts['same-node'] ? '; in the "rooms whole" case each room is on one node, rooms alternating: `--spread rooms`' : ''}); ${opts['floor-tcp'] ? 'The "floor-tcp" build is the floor with its link on plain TCP (length-prefixed messages) instead of a WebSocket. ' : ''}${opts.floor ? 'The "floor" build runs the same cases on bench/floor-node.mjs processes instead (the floor relay, two of them linked by one WebSocket that carries each turn\'s frames for the other node in one binary message; no envelope, acknowledgement or Redis): the least a cross-node signal costs in Node with ws. ' : ''}CPU is /proc/<pid>/stat utime+stime over the whole bench run (joins, warm-up, window, leaves; 10 ms ticks), Redis commands from INFO commandstats over the same span. Cases run interleaved${versions.length > 1 ? (opts.variant.length > 0 ? ' (the default and the variant alternate within each round)' : ' (before and after builds alternate within each round)') : ''}. ${pinning === undefined ? 'Not pinned: the nodes, redis-server and the load generator share every CPU.' : `Pinned with taskset: the nodes and redis-server on CPU ${pinning.server}, the load generator on CPU ${pinning.generator}.`}`,
  '',
  '| build | cross-node / one-node node CPU per delivered signal, per round | median | cross-node / one-node Redis CPU per delivered signal, per round | median |',
  '|---|---|---:|---|---:|',
  ...ratioRows,
  ...sameNodeTable('whole'),
  '',
  '| build | round | nodes | node CPU ms | node µs per delivered signal | redis-server CPU ms | delivered | rooms spanning | relay p50 / p99 ms | top Redis commands (calls × µs each) | load at start |',
  '|---|---|---:|---|---:|---:|---|---|---|---|---|',
  ...rows,
  '',
  `The steady window alone (${opts.duration} s, from the bench's "steady" line; no joins, warm-up or leaves): CPU from /proc/<pid>/stat at its start and end, Redis commands (INFO commandstats) and socket reads / writes (INFO stats total_reads_processed / total_writes_processed) over it, per signal delivered in the window (the bench's steady count × (N-1)/N: sampled from 0.5 s after the window's start to 0.5 s before its end, at a constant rate).`,
  '',
  '| build | steady window: cross-node / one-node node CPU per delivered signal, per round | median | steady window: cross-node / one-node Redis CPU per delivered signal, per round | median |',
  '|---|---|---:|---|---:|',
  ...steadyRatioRows,
  ...sameNodeTable('steady'),
  '',
  '| build | round | nodes | steady node CPU ms | node µs per delivered signal | steady redis-server CPU ms | Redis µs per delivered signal | Redis reads / writes processed | top Redis commands (calls × µs each) | generator event-loop utilisation |',
  '|---|---|---:|---|---:|---:|---:|---|---|---|',
  ...steadyRows,
  '',
  'Builds: ' + versions.map((v) => `${v.name} = ${v.commit}${v.dirty ? ' with uncommitted changes' : ''}`).join('; ') + '. Bench command per case (URLs are the nodes\' random ports): `' + (results[1]?.command ?? '') + '`.',
  '',
].join('\n');
process.stdout.write(`\n${text}`);
writeFileSync(join(outDir, 'last.json'), JSON.stringify({ startedAt, versions, results }, null, 2));
if (opts.section !== undefined) writeFileSync(resolve(opts.section), text);
if (results.some((c) => c.delivered === undefined)) process.exitCode = 1;
