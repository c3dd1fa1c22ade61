// Issue 5's fresh-process figure: from spawning `sigctl peer` to its `peer-connected` event, with
// a local `sigctl serve` and an echo peer already in the room. Loopback only; stops by itself.
// Usage: npm run build && node bench/peer-startup.mjs [runs=7] [--markdown] [--warmup N]
//   The one-line summary adds the CPU time the fresh process spent until `peer-connected` (Linux,
//   /proc): on a busy machine it moves much less than the wall-clock time.
//   --markdown: a small markdown table (node version, runs, median/p90/min/max, and the median of
//   each phase) for BENCHMARKS.md instead of the one-line summary.
//   --warmup N: N untimed runs first (default 0), so that the server and the echo peer, which are
//   long-running in any deployment, are not measured cold; the peer under test is always fresh.
// Phases: spawn -> `joined` as seen here (node start, CLI and module loading, WebSocket connect,
// join); then, from the `peer-connected` event's own split: link start -> offer sent, offer sent
// -> ICE connected (includes the answer's round trip), ICE -> DTLS connected, DTLS -> channel
// open; the rest is the event reaching this process.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import console from 'node:console';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/sigctl', import.meta.url));
const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const warmupAt = args.indexOf('--warmup');
const warmup = warmupAt === -1 ? 0 : Number(args[warmupAt + 1]);
const runs = Number(args.find((a, i) => !a.startsWith('--') && (warmupAt === -1 || i !== warmupAt + 1)) ?? 7);
const env = { ...process.env, NO_COLOR: '1' };
const children = [];
const start = (argv) => {
  const c = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  return c;
};
/** Resolves with [line, ms since `t0`] for each regexp, in order of the regexps. */
const linesMatching = (child, res, ms, t0 = performance.now()) =>
  new Promise((resolve, reject) => {
    let buf = '';
    const found = [];
    const t = setTimeout(() => reject(new Error(`no ${res[found.length]} within ${ms} ms`)), ms);
    child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) {
        if (found.length < res.length && res[found.length].test(l)) found.push([l, performance.now() - t0]);
      }
      if (found.length === res.length) {
        clearTimeout(t);
        resolve(found);
      }
    });
  });

/** CPU time (user + system) of a running process in ms, from /proc (Linux); undefined elsewhere. */
function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return undefined;
  }
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const median = (xs) => quantile(xs, 0.5);
const f0 = (x) => x.toFixed(0);

try {
  const serve = start(['serve', '--port', '0', '--json', '--log-level', 'warn']);
  const [[listening]] = await linesMatching(serve, [/"listening"/], 10_000);
  const { ws } = JSON.parse(listening);
  const echo = start(['peer', '--room', 'startup', '--echo', '--url', ws, '--json', '--timeout', '300']);
  await linesMatching(echo, [/"joined"/], 10_000);
  const total = [];
  const order = [];
  const cpu = [];
  const phases = { joined: [], offer: [], ice: [], dtls: [], channel: [], rest: [] };
  for (let i = -warmup; i < runs; i++) {
    const t0 = performance.now();
    const p = start(['peer', '--room', 'startup', '--url', ws, '--json', '--timeout', '20']);
    const [[, joinedAt], [line, connectedAt]] = await linesMatching(p, [/"joined"/, /"peer-connected"/], 20_000, t0);
    const cpuAt = cpuMsOf(p.pid);
    p.kill('SIGINT');
    await new Promise((r) => p.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
    if (i < 0) continue; // warm-up run
    const e = JSON.parse(line);
    order.push(connectedAt);
    if (cpuAt !== undefined) cpu.push(cpuAt);
    total.push(connectedAt);
    const offer = e.totalMs - e.iceMs - e.dtlsMs - e.channelMs;
    phases.joined.push(joinedAt);
    phases.offer.push(offer);
    phases.ice.push(e.iceMs);
    phases.dtls.push(e.dtlsMs);
    phases.channel.push(e.channelMs);
    phases.rest.push(connectedAt - joinedAt - e.totalMs);
  }
  if (!markdown) {
    console.log(`node ${process.version}; ${warmup} warm-up run(s); spawn -> peer-connected, ms, in run order: ${order.map(f0).join(' ')}; median ${f0(median(total))}${cpu.length === 0 ? '' : `; CPU time of the process until then (user+system, 10 ms ticks), median ${f0(median(cpu))} ms`}`);
  } else {
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(`Fresh \`sigctl peer\` process, spawn -> \`peer-connected\` (\`node bench/peer-startup.mjs ${runs} --markdown${warmup > 0 ? ` --warmup ${warmup}` : ''}\`): Node ${process.version}, ${cpus().length} cores (${cpu}), 1-minute load average ${loadavg()[0].toFixed(2)} after, ${runs} runs${warmup > 0 ? ` after ${warmup} untimed warm-up run(s)` : ' (the first against a server and echo peer that have served nobody yet)'}, loopback, local \`sigctl serve\` and an echo peer already in the room.`);
    console.log('');
    console.log('| runs | median ms | p90 ms | min ms | max ms |');
    console.log('|---:|---:|---:|---:|---:|');
    console.log(`| ${runs} | ${f0(median(total))} | ${f0(quantile(total, 0.9))} | ${f0(sorted(total)[0])} | ${f0(sorted(total).at(-1))} |`);
    console.log('');
    console.log('| phase (median of each) | ms |');
    console.log('|---|---:|');
    const rows = [
      ['spawn -> joined (node start, CLI and module loading incl. werift, WebSocket connect, join)', phases.joined],
      ['link start -> offer sent (peer connection, gathering, createOffer)', phases.offer],
      ['offer sent -> ICE connected (answer round trip, connectivity checks)', phases.ice],
      ['ICE connected -> DTLS connected (handshake)', phases.dtls],
      ['DTLS connected -> data channel open (SCTP, DCEP)', phases.channel],
      ['joined -> link start, and the event reaching the bench', phases.rest],
    ];
    for (const [name, xs] of rows) console.log(`| ${name} | ${median(xs).toFixed(1)} |`);
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
}
