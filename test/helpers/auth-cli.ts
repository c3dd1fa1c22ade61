/** Runs `bin/sigctl` as a long-lived child (e.g. `peer`) and collects its JSON-lines events. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli-run.js';

export interface CliProcess {
  child: ChildProcess;
  /** Parsed JSON lines from stdout so far. */
  events(): Array<Record<string, unknown>>;
  stderr(): string;
  /** Waits for the exit (bounded); kills the process and rejects when `ms` passes. */
  exited(ms: number): Promise<number | null>;
  /** Kills it if still running (idempotent). */
  kill(): Promise<void>;
}

export function spawnCli(args: readonly string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    events: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    stderr: () => err,
    exited(ms) {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        exit,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`sigctl ${args.join(' ')} did not exit within ${ms} ms\nstdout: ${out}\nstderr: ${err}`));
          }, ms);
        }),
      ]).finally(() => clearTimeout(timer));
    },
    async kill() {
      if (running()) {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };
}
