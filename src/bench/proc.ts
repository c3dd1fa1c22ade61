/**
 * Per-process resource readings from Linux /proc, used to measure a local server under test from
 * the outside: CPU time and resident memory (VmRSS in /proc/<pid>/status). CPU time is the sum of
 * every thread's run time in nanoseconds from /proc/<pid>/task/<tid>/schedstat (field 1, see the
 * kernel's Documentation/scheduler/sched-stats.rst) where the kernel offers it, else utime+stime
 * from /proc/<pid>/stat (fields 14 and 15, proc(5)) in clock ticks of 10 ms, too coarse for a
 * window of a few seconds. Returns undefined where /proc is unavailable.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** One reading of a process. */
export interface ProcSample {
  /** User + system CPU time in milliseconds. */
  cpuMs: number;
  /** Where cpuMs came from: per-thread schedstat (ns) or stat (clock ticks). */
  cpuSource: 'schedstat' | 'stat';
  /** Resident set size in KiB. */
  rssKiB: number;
}

let clockTicks: number | undefined;

/** Clock ticks per second (sysconf(_SC_CLK_TCK)); 100 on every mainstream Linux when getconf is missing. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2_000 }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * Parses /proc/<pid>/stat text into CPU milliseconds. The command name (field 2) is in parentheses
 * and may itself contain spaces and parentheses, so fields are counted after the LAST ')'.
 */
export function parseStatCpuMs(stat: string, ticksPerSecond: number): number {
  const end = stat.lastIndexOf(')');
  if (end < 0) throw new Error('malformed /proc stat');
  // After ") " come fields 3.. (state is field 3): utime is field 14, stime field 15.
  const rest = stat.slice(end + 2).split(' ');
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('malformed /proc stat');
  return ((utime + stime) * 1000) / ticksPerSecond;
}

/** Parses VmRSS (KiB) from /proc/<pid>/status text. */
export function parseStatusRssKiB(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error('no VmRSS in /proc status');
  return Number(m[1]);
}

/** Parses the run time (ns) of one thread from its schedstat text: "run_ns wait_ns timeslices". */
export function parseSchedstatNs(text: string): number {
  const ns = Number(text.trim().split(' ')[0]);
  if (!Number.isFinite(ns) || ns < 0) throw new Error('malformed schedstat');
  return ns;
}

/**
 * CPU ms of every live thread of `pid` from schedstat, or undefined when the kernel has none. A
 * thread that exits between two readings takes its time with it; Node's threads (V8 platform
 * workers, the libuv pool) live as long as the process.
 */
function schedstatCpuMs(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += parseSchedstatNs(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
    } catch (err) {
      // A thread that ended while we read is simply gone; no schedstat at all means no support.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && tids.length > 1) continue;
      return undefined;
    }
  }
  return ns / 1e6;
}

/** Reads CPU time and RSS of `pid`, or undefined when the process or /proc is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const fine = schedstatCpuMs(pid);
    if (fine !== undefined) return { cpuMs: fine, cpuSource: 'schedstat', rssKiB: parseStatusRssKiB(status) };
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { cpuMs: parseStatCpuMs(stat, clockTicksPerSecond()), cpuSource: 'stat', rssKiB: parseStatusRssKiB(status) };
  } catch {
    return undefined;
  }
}
