#!/usr/bin/env node
/**
 * Cross-node relay throughput over one Redis vs a 3-master Redis Cluster: for each topology, two
 * `sigctl serve` nodes and `sigctl bench signaling --url A --url B` (clients round-robin, so
 * every room spans both nodes and every signal crosses Redis). Redis's own command counters
 * (INFO commandstats, reset before the run) give the Redis operations per relayed signal.
 * Writes bench/sections/75-redis-cluster.md. Run it under `flock /work/bench.lock` on a shared
 * machine; it takes about 2 x (duration + 15) s.
 *
 *   node bench/redis-topologies.mjs [--clients 200] [--rate 20] [--duration 10] [--redis-timeout-ms 1000]
 *
 * On a loaded shared machine raise --redis-timeout-ms (the nodes' redis.timeoutMs): a starved
 * node misses the 1 s health PING, reports its store down and answers signals UNAVAILABLE, which
 * measures the machine's load rather than Redis.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanEnv, freePort, loadAverage, NODE_ENV, runBench, settle, startRedis, stop, stopAll } from './benchmarks-procs.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const clients = arg('clients', '200');
const rate = arg('rate', '20');
const duration = arg('duration', '10');
const redisTimeoutMs = arg('redis-timeout-ms', '1000');
const children = [];

const cli = (port, ...args) => execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });

async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (check()) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function startCluster(dir) {
  const ports = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`], { stdio: 'ignore' });
    children.push(child);
    ports.push(port);
  }
  for (const p of ports) await until(() => cli(p, 'PING').startsWith('PONG'), 10_000, `redis ${p}`);
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore', timeout: 30_000 });
  for (const p of ports) await until(() => cli(p, 'CLUSTER', 'INFO').includes('cluster_state:ok'), 20_000, `cluster_state:ok on ${p}`);
  return ports;
}

/** One `sigctl serve` node with the given SIGCTL_REDIS_* settings; resolves with its ws:// URL. */
function startNode(env) {
  const child = spawn(process.execPath, ['bin/sigctl', 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', '--json'], { cwd: root, env: cleanEnv({ ...NODE_ENV, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((res, rej) => {
    let out = '';
    const t = setTimeout(() => rej(new Error(`serve not ready: ${out.slice(-300)}`)), 20_000);
    const on = (c) => {
      out += c.toString();
      const m = /"ws":"(ws:\/\/[^"]+)"/.exec(out);
      if (m !== null) {
        clearTimeout(t);
        child.stdout.resume();
        child.stderr.resume();
        res(m[1]);
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
  });
}

/** Calls per command over the run, summed over the Redis nodes. */
function commandStats(ports) {
  const calls = new Map();
  for (const p of ports) {
    for (const line of cli(p, 'INFO', 'commandstats').split('\n')) {
      const m = /^cmdstat_([a-z|]+):calls=(\d+)/.exec(line.trim());
      if (m !== null) calls.set(m[1], (calls.get(m[1]) ?? 0) + Number(m[2]));
    }
  }
  return calls;
}

async function run(topology) {
  const dir = mkdtempSync(join(tmpdir(), 'sigctl-bench-redis-'));
  try {
    let ports;
    let env;
    if (topology === 'one Redis') {
      const r = await startRedis();
      ports = [r.port];
      env = { SIGCTL_REDIS_URL: r.url };
    } else {
      ports = await startCluster(dir);
      env = { SIGCTL_REDIS_CLUSTER_NODES: ports.map((p) => `redis://127.0.0.1:${p}`).join(',') };
    }
    env.SIGCTL_REDIS_TIMEOUT_MS = redisTimeoutMs;
    const urls = [await startNode({ ...env, SIGCTL_REDIS_NODE_ID: 'a' }), await startNode({ ...env, SIGCTL_REDIS_NODE_ID: 'b' })];
    await settle();
    for (const p of ports) cli(p, 'CONFIG', 'RESETSTAT');
    const args = ['signaling', '--url', urls[0], '--url', urls[1], '--clients', clients, '--rate', rate, '--duration', duration];
    const result = await runBench({ root, args, timeoutMs: (Number(duration) * 4 + 60) * 1000 });
    const stats = commandStats(ports);
    return { topology, args, result, stats, redisNodes: ports.length };
  } finally {
    await stopAll();
    for (const c of children.splice(0)) await stop(c, 2_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

const before = loadAverage();
const runs = [];
for (const topology of ['one Redis', '3-master Redis Cluster']) {
  runs.push(await run(topology));
  await settle();
}
const after = loadAverage();
const cpu = cpus();
const lines = [
  '## Cross-node relay: one Redis vs a 3-master Redis Cluster',
  '',
  `Measured ${runs[0].result.startedAt.toISOString()} with \`node bench/redis-topologies.mjs --clients ${clients} --rate ${rate} --duration ${duration} --redis-timeout-ms ${redisTimeoutMs}\` (\`bench/redis-topologies.mjs\`, run under \`flock /work/bench.lock\`); ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), Node ${process.version}; load average ${before} before / ${after} after, on a machine shared with other sessions. Each topology: two \`sigctl serve\` nodes (redis-server 7, every Redis process on the same host), \`sigctl bench signaling\` with clients spread round-robin over both nodes, so every room spans the nodes and every signal crosses Redis; the nodes' \`redis.timeoutMs\` is ${redisTimeoutMs}. Redis operations are Redis's own counters (INFO commandstats) over the whole run, all Redis nodes summed.`,
  '',
];
for (const r of runs) {
  lines.push(`### ${r.topology}`, '', `\`sigctl bench ${r.args.join(' ')}\` (exit ${r.result.code}; load ${r.result.load} at start)`, '', '```', r.result.stdout.trim(), '```', '');
  const top = [...r.stats].sort((a, b) => b[1] - a[1]).slice(0, 8);
  lines.push('Redis commands during the run (calls, all nodes): ' + top.map(([c, n]) => `${c} ${n}`).join(', ') + '.', '');
}
const out = join(root, 'bench/sections/75-redis-cluster.md');
writeFileSync(out, lines.join('\n'));
process.stdout.write(lines.join('\n') + '\n');
