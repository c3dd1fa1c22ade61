/**
 * Processes for bench/benchmarks.mjs: one `sigctl bench` run with its verbatim output, and the
 * redis-server and `sigctl serve --redis` nodes of the multi-node comparison. Everything started
 * here is tracked by pid and stopped by `stopAll()` (SIGTERM, then SIGKILL), loopback only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

/** Children started by this module and still running: pid -> ChildProcess. */
const running = new Map();

function track(child) {
  if (child.pid === undefined) return;
  running.set(child.pid, child);
  child.once('exit', () => running.delete(child.pid));
}

/** The environment for children: the caller's, without SIGCTL_* (the generator sets its own) and without colour. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SIGCTL_')) env[k] = v;
  env.NO_COLOR = '1';
  return { ...env, ...extra };
}

/** utime+stime of a process in ms from /proc/<pid>/stat (clock tick 10 ms), or undefined. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * CPU time the hypervisor gave to other guests while this machine wanted it ("steal", the 8th
 * number of /proc/stat's cpu line), summed over all CPUs, in ms (clock tick 10 ms); undefined
 * where there is no /proc/stat.
 */
export function stealMs() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    return Number(cpu[8]) * 10;
  } catch {
    return undefined;
  }
}

/** The 1/5/15-minute load averages as printed by uptime. */
export function loadAverage() {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** A TCP port that was free a moment ago on 127.0.0.1 (callers retry if it is taken meanwhile). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Stops one child: SIGTERM, SIGKILL after `graceMs`; resolves when it has exited. */
export async function stop(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every child still running (on the way out, including Ctrl-C). */
export async function stopAll() {
  await Promise.all([...running.values()].map((c) => stop(c)));
}

/**
 * Spawns a child and resolves once its output matches `ready` (returns the match), rejects when it
 * exits first or after `timeoutMs`; the child is stopped on failure.
 */
async function startUntil(command, args, { env, ready, timeoutMs, cwd }) {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let output = '';
  try {
    const match = await new Promise((resolve, reject) => {
      const onData = (chunk) => {
        output = (output + chunk.toString('utf8')).slice(-8_192);
        const m = ready.exec(output);
        if (m !== null) done(() => resolve(m));
      };
      const onExit = (code, signal) => done(() => reject(new Error(`${command} exited (${code ?? signal}) before it was ready: ${output.trim().slice(-400)}`)));
      const timer = setTimeout(() => done(() => reject(new Error(`${command} not ready within ${timeoutMs} ms: ${output.trim().slice(-400)}`))), timeoutMs);
      const done = (settle) => {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        settle();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', onExit);
      child.once('error', (err) => done(() => reject(err)));
    });
    // Keep draining so that a chatty child never blocks on a full pipe.
    child.stdout.resume();
    child.stderr.resume();
    return { child, match };
  } catch (err) {
    await stop(child, 1_000);
    throw err;
  }
}

/** redis-server on a free loopback port, no persistence; retried on a port taken meanwhile. */
export async function startRedis() {
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    try {
      const { child } = await startUntil('redis-server', args, { env: cleanEnv(), ready: /Ready to accept connections/, timeoutMs: 10_000 });
      return { child, port, url: `redis://127.0.0.1:${port}`, command: `redis-server --port ${port} --bind 127.0.0.1 --save "" --appendonly no` };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** The SIGCTL_* settings a serve node gets for load: the same raised limits the bench gives its own local server. */
export const NODE_ENV = {
  SIGCTL_LIMITS_MESSAGES_PER_SECOND: '1000000',
  SIGCTL_LIMITS_BURST: '1000000',
  SIGCTL_LIMITS_MAX_CONNECTIONS_PER_IP: '4000',
  SIGCTL_DRAIN_MS: '0',
};

/**
 * --pin of the multinode scripts: the system under test (nodes, redis-server) on the first half of
 * the CPUs, the load generator on the rest, with `taskset` (as `sigctl bench` pins a local server,
 * src/bench/pinning.ts). Moves this process (and so the generator it starts) to the generator's
 * CPUs; `pinServer(pid)` moves a process of the system under test (every thread) to the others.
 */
export function pinApart() {
  const all = cpus().map((_, i) => i);
  if (all.length < 2) throw new Error('--pin needs at least 2 CPUs');
  const half = Math.max(1, Math.floor(all.length / 2));
  const server = all.slice(0, half).join(',');
  const generator = all.slice(half).join(',');
  execFileSync('taskset', ['-a', '-pc', generator, String(process.pid)], { stdio: 'ignore' });
  return { server, generator, pinServer: (pid) => void execFileSync('taskset', ['-a', '-pc', server, String(pid)], { stdio: 'ignore' }) };
}

/** The SIGCTL_NAME=VALUE pairs of a repeatable option (`--<option>`) as an environment object for startNode's nodeEnv. */
export function parseNodeEnv(pairs, option) {
  return Object.fromEntries(
    pairs.map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 1 || !kv.startsWith('SIGCTL_')) throw new Error(`--${option} wants SIGCTL_NAME=VALUE, got ${JSON.stringify(kv)}`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
}

/**
 * One `sigctl serve --redis` node on 127.0.0.1 port 0; resolves with its ws:// URL (from the --json banner).
 * `nodeArgs` go to node before the script (e.g. --cpu-prof).
 */
export async function startNode({ root, redisUrl, nodeId, nodeArgs = [], nodeEnv = {} }) {
  const args = ['bin/sigctl', 'serve', '--host', '127.0.0.1', '--port', '0', '--redis', redisUrl, '--log-level', 'warn', '--json'];
  const env = cleanEnv({ ...NODE_ENV, ...nodeEnv, SIGCTL_REDIS_NODE_ID: nodeId });
  const { child, match } = await startUntil(process.execPath, [...nodeArgs, ...args], { env, cwd: root, ready: /"ws":"(ws:\/\/[^"]+)"/, timeoutMs: 20_000 });
  const envText = Object.entries({ ...nodeEnv, SIGCTL_REDIS_NODE_ID: nodeId }).map(([k, v]) => `${k}=${v}`).join(' ');
  return { child, nodeId, url: match[1], command: `${envText} sigctl ${args.slice(1).join(' ')}` };
}

/**
 * One node of the two-node floor (bench/floor-node.mjs): the first listens for the link, the second
 * dials it (`dial`: the first's link port); `tcp`: the link is plain TCP instead of a WebSocket.
 * Resolves with its ws:// URL and link port.
 */
export async function startFloorNode({ root, dial, nodeArgs = [], tcp = false }) {
  const args = ['bench/floor-node.mjs', ...(tcp ? ['--tcp'] : []), ...(dial === undefined ? [] : ['--dial', String(dial)])];
  const { child, match } = await startUntil(process.execPath, [...nodeArgs, ...args], { env: cleanEnv(), cwd: root, ready: /\{"ws":"(ws:\/\/[^"]+)","link":(\d+|null)\}/, timeoutMs: 20_000 });
  return { child, url: match[1], link: match[2] === 'null' ? undefined : Number(match[2]), command: `node ${args.join(' ')}` };
}

/**
 * Runs `node bin/sigctl bench <args>` to completion: stdout verbatim (the report), stderr echoed to
 * ours as progress and kept (tail) for failures (and passed to `onStderr`, chunk by chunk, to follow
 * the phases). Killed (SIGINT, then SIGKILL) after `timeoutMs`.
 */
export async function runBench({ root, args, timeoutMs, onStderr }) {
  const startedAt = new Date();
  const load = loadAverage();
  const steal0 = stealMs();
  const child = spawn(process.execPath, ['bin/sigctl', 'bench', ...args], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c) => {
    stderr = (stderr + c.toString('utf8')).slice(-4_000);
    process.stderr.write(c);
    onStderr?.(c.toString('utf8'));
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGINT');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }, timeoutMs);
  const code = await new Promise((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('close', (c, signal) => resolve(c ?? signal));
  });
  clearTimeout(timer);
  const steal1 = stealMs();
  const stolenMs = steal0 === undefined || steal1 === undefined ? undefined : steal1 - steal0;
  return { startedAt, finishedAt: new Date(), load, stolenMs, stdout, stderr, code, timedOut };
}

/** Waits a little between runs so that one run's teardown does not overlap the next one's start. */
export const settle = () => sleep(2_000);
