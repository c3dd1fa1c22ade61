// Issue 15: CPU per relayed message of the compat codecs (STOMP 1.2, the raw /room/<id> relay)
// against the floor relay in the same run. For each protocol it runs
//   node bin/sigctl bench signaling --protocol <p> --vs-floor --clients 200 --room-size 2 --rate 10 --duration 10
// (the bench starts `serve --compat <p>` and the floor, pins them apart from the load generator,
// and interleaves their measured rounds), and writes the section with the commands, machine, date,
// load average before and after each run, a summary table read from the JSON documents, and the
// human output verbatim.
//
// Usage: npm run build && flock /work/bench.lock node bench/compat-relay.mjs
//          [--protocols stomp,raw] [--clients 200] [--duration 10] [--section bench/sections/45-compat-relay.md]
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    protocols: { type: 'string', default: 'stomp,raw' },
    clients: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    section: { type: 'string' },
  },
});
const resultsDir = join(root, 'bench/results');
mkdirSync(resultsDir, { recursive: true });

const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');

/** Runs one bench command; resolves with its stdout (the human report) and exit code. */
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/sigctl'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ out, code }));
  });
}

const fmt = (v, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

const runs = [];
for (const protocol of opts.protocols.split(',')) {
  const name = `compat-${protocol}.json`;
  const args = ['bench', 'signaling', '--protocol', protocol, '--vs-floor', '--clients', opts.clients, '--room-size', '2', '--rate', '10', '--duration', opts.duration];
  const before = load();
  const startedAt = new Date().toISOString();
  process.stderr.write(`compat-relay: ${protocol} (load ${before})\n`);
  const { out, code } = await run([...args, '--out', join(resultsDir, name)]);
  const after = load();
  const doc = JSON.parse(readFileSync(join(resultsDir, name), 'utf8'));
  runs.push({ protocol, command: `node bin/sigctl ${args.join(' ')}`, out, code, before, after, startedAt, doc, file: relative(root, join(resultsDir, name)) });
}

const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
const lines = [
  '## Compat codecs vs the floor: STOMP and the raw room relay (issue 15)',
  '',
  `Measured with \`node bench/compat-relay.mjs\` on ${cpus().length} cores (${cpu}), Node ${process.version}, a machine shared with other sessions (1-minute load average before / after each run below). Each run is one \`sigctl bench signaling --vs-floor\`: the bench starts \`sigctl serve --compat <protocol>\` and the floor relay (\`sigctl bench floor\`), pins both on one CPU and the load generator on the other, joins 200 clients to each, and alternates 8 measured rounds between them; the figure is the median of the per-round ratios of server CPU per relayed message. sigctl's clients speak the protocol, the floor's speak v1 (the floor relays any frame verbatim). Goal (issue 15): STOMP <= 1.5x the floor.`,
  '',
  'How the clients speak (src/bench/signaling-dialects.ts): STOMP clients CONNECT (heart-beat 0,0), SUBSCRIBE to /user/queue/me, /user/queue/system and the room\'s members and signal topics, SEND /app/rooms/{room}/join and count as joined on the first members MESSAGE; each signal is a SEND to /app/rooms/{room}/signal. Raw clients open /room/<id>; the relay sends no join acknowledgement, so the peers\' own first frames are the ready barrier: each client sends `{"hello":i}` on open and answers the first hello of each peer with its own again; it is ready once it heard every other member of its room (its "join" time is ws connect -> that barrier).',
  '',
  '| protocol | run (UTC) | load before / after | sigctl µs/msg | floor µs/msg | CPU ratio (median of rounds) | goal | delivered/expected sigctl / floor | relay p99 ms sigctl / floor |',
  '|---|---|---|---:|---:|---:|---|---|---|',
];
for (const r of runs) {
  const [s, f] = r.doc.results.runs;
  const c = r.doc.results.comparison;
  const goal = c?.goals.cpu === null || c?.goals.cpu === undefined ? 'n/a' : `${c.goals.cpu ? 'met' : 'missed'} (<= ${c.cpuGoal}x)`;
  lines.push(
    `| ${r.protocol} | ${r.startedAt.slice(11, 19)} | ${r.before.split(' ')[0]} / ${r.after.split(' ')[0]} | ${fmt(s?.steady.serverCpuUsPerMessage)} | ${fmt(f?.steady.serverCpuUsPerMessage)} | ${fmt(c?.cpuPerMessageRatio, 3)}x | ${goal} | ${fmt(s?.steady.deliveredRatio, 6)} / ${fmt(f?.steady.deliveredRatio, 6)} | ${fmt(s?.steady.relayLatencyMs.p99)} / ${fmt(f?.steady.relayLatencyMs.p99)} |`,
  );
}
for (const r of runs) {
  lines.push('', `### ${r.protocol}`, '', `\`${r.command}\` (exit ${r.code}; started ${r.startedAt}; load average ${r.before} before, ${r.after} after; JSON: ${r.file})`, '', '```', r.out.trimEnd(), '```');
}
lines.push('');
const section = opts.section ?? join(root, 'bench/sections/45-compat-relay.md');
writeFileSync(section, lines.join('\n'));
process.stderr.write(`compat-relay: wrote ${relative(root, section)}\n`);
