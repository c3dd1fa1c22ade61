/**
 * Starts a real redis-server on a free loopback port for a test and stops it after. Suites that
 * use it declare requires('redis-server') (test/helpers/requires.ts): skipped and reported when it
 * is not installed, a failure under CI=true.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createConnection } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface RedisProcess {
  url: string;
  port: number;
  /** Stops the server (SIGKILL when `hard`, else SIGTERM). Idempotent. */
  stop(hard?: boolean): Promise<void>;
  /** Starts a fresh server on the same port (data is gone: no persistence). */
  restart(): Promise<void>;
  /** Stops the process with SIGSTOP: its sockets stay open, nothing answers. */
  freeze(): void;
  /** Resumes a frozen process (SIGCONT). Idempotent. */
  thaw(): void;
  /** Starts a fresh server on the same port after stop() (data is gone). */
  start(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function launch(port: number): ChildProcess {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.on('error', () => undefined);
  return child;
}

async function waitUp(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await ping(port)) return;
    await delay(50);
  }
  throw new Error(`redis-server did not answer on port ${port} within ${timeoutMs} ms`);
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Starts redis-server; throws a clear error when it is not installed. */
export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  let child = launch(port);
  const missing = await new Promise<boolean>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT'));
    child.once('spawn', () => resolve(false));
  });
  if (missing) throw new Error('redis-server is not installed: run `apt-get install -y redis-server` (.ci/run does this)');
  await waitUp(port, child, 10_000);
  let stopped = false;
  let frozen = false;
  const thaw = (): void => {
    if (!frozen) return;
    frozen = false;
    child.kill('SIGCONT');
  };
  const stop = async (hard = false): Promise<void> => {
    if (stopped) return;
    stopped = true;
    child.kill(hard ? 'SIGKILL' : 'SIGTERM');
    // A stopped process handles SIGTERM only once continued.
    thaw();
    await waitExit(child, 5_000);
  };
  const start = async (): Promise<void> => {
    if (!stopped) return;
    child = launch(port);
    stopped = false;
    await waitUp(port, child, 10_000);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    async restart() {
      await stop(true);
      await start();
    },
    start,
    freeze() {
      if (frozen || stopped) return;
      frozen = true;
      child.kill('SIGSTOP');
    },
    thaw,
  };
}

/**
 * One redis-server for the tests of a suite: call it in the `describe` body; the server starts in
 * beforeAll and stops in afterAll. The object returned stands for it (url, port, stop, restart,
 * ...), usable from beforeAll on.
 */
export function redisForSuite(): RedisProcess {
  let proc: RedisProcess | undefined;
  beforeAll(async () => {
    proc = await startRedis();
  });
  afterAll(async () => {
    await proc?.stop();
  });
  const it = (): RedisProcess => {
    if (proc === undefined) throw new Error('redisForSuite(): the redis-server is used before its beforeAll ran');
    return proc;
  };
  return {
    get url() {
      return it().url;
    },
    get port() {
      return it().port;
    },
    stop: (hard) => it().stop(hard),
    restart: () => it().restart(),
    freeze: () => it().freeze(),
    thaw: () => it().thaw(),
    start: () => it().start(),
  };
}
