/**
 * Runs `bin/sigctl serve` (the built CLI) as a real process for e2e tests: waits (bounded) for the
 * banner, collects stdout/stderr, and stops it with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/sigctl', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Daemon {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line (the banner in --json mode) or rejects on exit/timeout. */
  firstLine: Promise<string>;
  /** Resolves with the exit code (or 128+signal) when the process ends. */
  exited: Promise<number>;
  /** Sends `signal` and waits (bounded) for the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

/** Starts `sigctl ...args`; `bin/sigctl` needs `dist/` (npm test builds it first). */
export function startDaemon(args: readonly string[], env: Record<string, string | undefined> = {}, timeoutMs = 15_000, nodeArgs: readonly string[] = []): Daemon {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? -1 : 128 + (signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 9))));
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stdout.on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sigctl exited with ${code} before the banner; stderr: ${err}`));
    });
  });
  firstLine.catch(() => undefined);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`sigctl did not exit within ${ms} ms after ${signal}`));
      }, ms);
    });
    return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
  };
  return { child, stdout: () => out, stderr: () => err, firstLine, exited, stop };
}

/** The banner `sigctl serve --json` prints first (src/cli/serve-banner.ts); the URLs present depend on the config. */
export interface ServeBanner {
  type: string;
  protocol: number;
  host: string;
  port: number;
  /** The first reachable base URL (http://host:port). */
  listen: string;
  reachable: string[];
  ws: string;
  healthz: string;
  readyz: string;
  metrics: string;
  nodes: string;
  app?: string;
}

/** Parses a daemon's first stdout line as the --json banner. */
export async function bannerOf(d: Daemon): Promise<ServeBanner> {
  return JSON.parse(await d.firstLine) as ServeBanner;
}

/**
 * The sigctl processes and WebSocket clients of one suite: run() starts one with the suite's
 * default environment under the test's own, client() registers one, closeAll() (afterEach) closes
 * the clients and then SIGKILLs whatever still runs (a test that wanted a clean exit waited for it).
 */
export class Daemons {
  private readonly running: Daemon[] = [];
  private readonly clients: Array<{ close(): Promise<void> }> = [];

  constructor(private readonly defaults: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}) {}

  /** startDaemon(args) with `env` over the suite's defaults. */
  run(args: readonly string[], env: Record<string, string | undefined> = {}, nodeArgs: readonly string[] = []): Daemon {
    const d = startDaemon(args, { ...this.defaults.env, ...env }, this.defaults.timeoutMs, nodeArgs);
    this.running.push(d);
    return d;
  }

  /** Registers `c` to be closed after the test; returns it. */
  client<T extends { close(): Promise<void> }>(c: T): T {
    this.clients.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
    await Promise.all(this.running.splice(0).map((d) => d.stop('SIGKILL').catch(() => undefined)));
  }
}
