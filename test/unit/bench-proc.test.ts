import { describe, expect, it } from 'vitest';
import { clockTicksPerSecond, parseSchedstatNs, parseStatCpuMs, parseStatusRssKiB, sampleProcess } from '../../src/bench/proc.js';

describe('bench /proc readings', () => {
  it('counts fields after the last parenthesis, whatever the command name holds', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const stat = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 50 0 0 20 0 11 0';
    expect(parseStatCpuMs(stat, 100)).toBe(2000);
    expect(parseStatCpuMs(stat, 1000)).toBe(200);
    expect(() => parseStatCpuMs('garbage', 100)).toThrow();
  });

  it('reads VmRSS in KiB', () => {
    expect(parseStatusRssKiB('Name:\tnode\nVmRSS:\t   51234 kB\nThreads:\t7\n')).toBe(51234);
    expect(() => parseStatusRssKiB('Name: node\n')).toThrow();
  });

  it('reads a thread\'s run time in ns from schedstat', () => {
    expect(parseSchedstatNs('238677980 39428460 1044\n')).toBe(238677980);
    expect(() => parseSchedstatNs('x y z')).toThrow();
  });

  it('samples a live process and returns undefined for a gone one', () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
    const s = sampleProcess(process.pid);
    expect(s?.rssKiB).toBeGreaterThan(1000);
    expect(s?.cpuMs).toBeGreaterThan(0);
    // This kernel has schedstat (the bench's CPU figures rely on its ns resolution).
    expect(s?.cpuSource).toBe('schedstat');
    // Burn 30 ms of this process's CPU (counted by the kernel, not the wall clock, so a busy machine
    // cannot shorten it): schedstat sees it, to well under a 10 ms clock tick.
    const t0 = process.cpuUsage();
    const usedMs = (): number => {
      const u = process.cpuUsage(t0);
      return (u.user + u.system) / 1000;
    };
    while (usedMs() < 30);
    const burnedMs = usedMs();
    const s2 = sampleProcess(process.pid)!;
    expect(s2.cpuMs - s!.cpuMs).toBeGreaterThanOrEqual(burnedMs * 0.8);
    expect(sampleProcess(2 ** 22 + 12345)).toBeUndefined();
  });
});
