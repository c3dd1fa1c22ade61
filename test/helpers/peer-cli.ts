/**
 * Long-running CLI processes for e2e tests (`sigctl serve`, `sigctl peer --echo`): spawned from the
 * built bin/sigctl, stdout collected as lines, every wait bounded, killed by stopAll().
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN } from './cli-run.js';

export class CliProcess {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l !== ''));
      this.wake();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.wake();
    });
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first stdout line (parsed as JSON when possible) matching `test`. */
  async waitForLine(test: (line: string) => boolean, ms: number, what: string): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find(test);
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}\nstdout: ${this.lines.join('\n')}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for exit, bounded. */
  async exit(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms\nstdout: ${this.lines.join('\n')}\nstderr: ${this.stderr}`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const running = new Set<CliProcess>();

/** Starts `sigctl ...args`. */
export function startCli(args: readonly string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, SIGCTL_URL: undefined, SIGCTL_TOKEN: undefined, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  const p = new CliProcess(child);
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

/** Kills every process still running (SIGKILL) and waits for them. */
export async function stopAll(): Promise<void> {
  const all = [...running];
  for (const p of all) p.child.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exit(5_000).catch(() => undefined)));
}

/** Parses JSON lines, ignoring anything else. */
export function jsonLines(lines: readonly string[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const l of lines) {
    try {
      const v: unknown = JSON.parse(l);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch {
      // not JSON
    }
  }
  return out;
}
