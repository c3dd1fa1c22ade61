/**
 * The machine a bench ran on, recorded in every report so that numbers are never separated from
 * where they were measured. werift's version is read from its package.json on disk: importing
 * werift just to ask would load all of it, and the signaling scenario must not load it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

export interface BenchEnvironment {
  node: string;
  platform: string;
  arch: string;
  kernel: string;
  cpuCount: number;
  cpuModel: string;
  memoryMiB: number;
  /** 1-minute load average at the start: a busy machine makes every figure worse. */
  loadAverage1m: number;
  sigctl: string;
  werift: string | null;
}

/** The installed werift version, or null when werift cannot be found. */
export function weriftVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    let dir = dirname(require.resolve('werift'));
    for (let i = 0; i < 8; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'werift' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // no package.json at this level
      }
      dir = dirname(dir);
    }
  } catch {
    // werift not installed
  }
  return null;
}

/** Describes this machine and runtime. The versions come from the caller (only src/cli reads `process`). */
export function benchEnvironment(runtime: { nodeVersion: string; sigctlVersion: string }): BenchEnvironment {
  const list = cpus();
  return {
    node: runtime.nodeVersion,
    platform: platform(),
    arch: arch(),
    kernel: release(),
    cpuCount: availableParallelism(),
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryMiB: Math.round(totalmem() / 1_048_576),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    sigctl: runtime.sigctlVersion,
    werift: weriftVersion(),
  };
}
