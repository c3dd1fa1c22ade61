/**
 * Shared by the Redis Cluster and Sentinel harnesses: spawning redis-server processes under a
 * temp dir, asking them things with redis-cli, and waiting for a condition with a bound.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';

/** A redis-server (or sentinel) process; stop() is idempotent. */
export interface Proc {
  port: number;
  stop(hard?: boolean): Promise<void>;
}

/** Spawns `redis-server args...`; rejects when it is not installed. */
export async function spawnRedis(port: number, args: readonly string[]): Promise<Proc> {
  const child: ChildProcess = spawn('redis-server', [...args], { stdio: ['ignore', 'ignore', 'ignore'] });
  const missing = await new Promise<boolean>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT'));
    child.once('spawn', () => resolve(false));
  });
  if (missing) throw new Error('redis-server is not installed: run `apt-get install -y redis-server` (.ci/run does this)');
  let stopped = false;
  return {
    port,
    async stop(hard = false) {
      if (stopped) return;
      stopped = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** `redis-cli -p port args...`, bounded; resolves with stdout ('' when the server does not answer). */
export function cli(port: number, args: readonly string[], timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: timeoutMs }, (err, stdout) => resolve(err === null ? stdout : ''));
  });
}

/** Polls `check` every 100 ms until it is true; throws `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Base options of every test redis-server: loopback, no persistence. */
export function baseArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'];
}
