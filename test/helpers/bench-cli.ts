/** Runs the built `bin/sigctl` for bench tests: no inherited SIGCTL_* variables, no colour, CI mode. */
import type { ChildProcess } from 'node:child_process';
import { runCli as run, type CliResult } from './cli-run.js';

export type { CliResult } from './cli-run.js';

/** Spawns `node bin/sigctl ...args`; `onSpawn` gets the child (e.g. to send it a signal). */
export function runCli(args: readonly string[], timeoutMs = 60_000, onSpawn?: (child: ChildProcess) => void): Promise<CliResult> {
  return run(args, { timeoutMs, cleanEnv: true, env: { NO_COLOR: '1', CI: 'true' }, ...(onSpawn === undefined ? {} : { onSpawn }) });
}

/** PIDs of the direct children of `pid` (from /proc). */
export async function childPids(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
