/**
 * Per-process resource readings from Linux /proc, used to measure a local server under test from
 * the outside: CPU time (utime+stime of every thread, /proc/<pid>/stat fields 14 and 15, proc(5))
 * and resident memory (VmRSS in /proc/<pid>/status). Returns undefined where /proc is unavailable.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One reading of a process. */
export interface ProcSample {
  /** User + system CPU time in milliseconds. */
  cpuMs: number;
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

/** Reads CPU time and RSS of `pid`, or undefined when the process or /proc is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { cpuMs: parseStatCpuMs(stat, clockTicksPerSecond()), rssKiB: parseStatusRssKiB(status) };
  } catch {
    return undefined;
  }
}
