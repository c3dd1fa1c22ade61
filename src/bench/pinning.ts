/**
 * CPU pinning for local signaling runs: the server(s) under test on some CPUs, the load generator
 * (this process and its worker threads) on the others, so that neither takes the other's CPU time
 * and the server's figures are about the server (issue 17). Linux only, through `taskset` (util-
 * linux): Node has no sched_setaffinity. Elsewhere, or without taskset or a second CPU, nothing is
 * pinned and the report says why. Threads inherit their creator's affinity, and `taskset -a` moves
 * the threads that already exist, so pinning before the load workers start covers all of them.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { platform } from 'node:os';

/** What was pinned, for the report. */
export interface CpuPinning {
  applied: boolean;
  serverCpus: number[];
  generatorCpus: number[];
  /** How (taskset) or why not. */
  note: string;
}

/** Parses a CPU list as taskset prints it ("0-3,6,8-9"). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map((x) => Number.parseInt(x, 10));
    if (a === undefined || !Number.isInteger(a)) throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    const end = b === undefined ? a : b;
    if (!Number.isInteger(end) || end < a) throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    for (let c = a; c <= end; c++) out.push(c);
  }
  return out;
}

/**
 * Splits the CPUs this process may use: the first half (at least one) for the server(s), the rest
 * for the generator; undefined with fewer than two CPUs (nothing to separate).
 */
export function splitCpus(cpus: readonly number[]): { server: number[]; generator: number[] } | undefined {
  if (cpus.length < 2) return undefined;
  const n = Math.max(1, Math.floor(cpus.length / 2));
  return { server: cpus.slice(0, n), generator: cpus.slice(n) };
}

function taskset(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('taskset', [...args], { timeout: 5_000, encoding: 'utf8' }, (err: ExecFileException | null, stdout: string) => {
      if (err === null) resolve(stdout);
      else reject(Object.assign(new Error(err.message), { code: err.code }));
    });
  });
}

/** A pinning in place; restore() gives this process its former CPUs back (idempotent). */
export interface Pinned {
  readonly pinning: CpuPinning;
  restore(): Promise<void>;
}

const none = (note: string): Pinned => ({ pinning: { applied: false, serverCpus: [], generatorCpus: [], note }, restore: () => Promise.resolve() });

/**
 * Pins `serverPids` (with all their threads) to one half of this process's CPUs and this process
 * (`selfPid`, with all its threads) to the other. Never throws: a failure leaves things unpinned
 * and says so.
 */
export async function pinServerAndGenerator(serverPids: readonly number[], selfPid: number): Promise<Pinned> {
  if (platform() !== 'linux') return none(`not pinned: CPU pinning is implemented for Linux only (this is ${platform()})`);
  let mine: number[];
  try {
    const out = await taskset(['-c', '-p', String(selfPid)]);
    mine = parseCpuList(out.slice(out.lastIndexOf(':') + 1));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return none(missing ? 'not pinned: taskset (util-linux) is not installed' : `not pinned: taskset failed (${err instanceof Error ? err.message : String(err)})`);
  }
  const split = splitCpus(mine);
  if (split === undefined) return none(`not pinned: this process may use only CPU ${mine.join(',')}`);
  const list = (cpus: readonly number[]): string => cpus.join(',');
  let restored = false;
  const restore = async (): Promise<void> => {
    if (restored) return;
    restored = true;
    await taskset(['-a', '-c', '-p', list(mine), String(selfPid)]).catch(() => undefined);
  };
  try {
    for (const pid of serverPids) await taskset(['-a', '-c', '-p', list(split.server), String(pid)]);
    await taskset(['-a', '-c', '-p', list(split.generator), String(selfPid)]);
  } catch (err) {
    await restore();
    for (const pid of serverPids) await taskset(['-a', '-c', '-p', list(mine), String(pid)]).catch(() => undefined);
    return none(`not pinned: taskset failed (${err instanceof Error ? err.message : String(err)})`);
  }
  return {
    pinning: { applied: true, serverCpus: split.server, generatorCpus: split.generator, note: `taskset: server(s) on CPU ${list(split.server)}, load generator on CPU ${list(split.generator)}` },
    restore,
  };
}
