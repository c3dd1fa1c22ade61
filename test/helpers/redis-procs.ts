/**
 * Shared by the Redis Cluster and Sentinel harnesses: spawning redis-server processes under a
 * temp dir, asking them things with redis-cli, and waiting for one to answer.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './within.js';

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

/**
 * The processes of one harness under one temp dir (`dir`, named after the harness): spawn() adds
 * one, stop() kills them all and removes the dir. stop() is idempotent.
 */
export class ProcGroup {
  readonly dir: string;
  private readonly procs: Proc[] = [];
  private stopped = false;

  constructor(name: string) {
    this.dir = mkdtempSync(join(tmpdir(), `sigctl-${name}-`));
  }

  /** spawnRedis(), killed by stop(). */
  async spawn(port: number, args: readonly string[]): Promise<Proc> {
    const p = await spawnRedis(port, args);
    this.procs.push(p);
    return p;
  }

  /** Kills every process (SIGKILL) and removes the dir. */
  readonly stop = async (): Promise<void> => {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.procs.map((p) => p.stop(true)));
    rmSync(this.dir, { recursive: true, force: true });
  };
}

/** Waits until `redis-cli PING` on `port` answers PONG (polled every 100 ms: each check spawns redis-cli), bounded. */
export function answering(port: number, timeoutMs: number, what: string): Promise<void> {
  return until(async () => (await cli(port, ['PING'])).startsWith('PONG'), timeoutMs, what, 100);
}

/** Base options of every test redis-server: loopback, no persistence. */
export function baseArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'];
}
