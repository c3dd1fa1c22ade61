/**
 * Preloaded (`node --import`) into the local servers a signaling bench starts — `sigctl serve`
 * and the floor relay alike — so that both report memory the same way. It answers one IPC
 * request, {@link MemoryProbeRequest}, with a {@link MemoryReading} taken after a full GC.
 *
 * Why not just read VmRSS: the RSS growth across a burst of joins is dominated by V8's young
 * generation, not by what the connections retain. V8 grows the semi-spaces when many objects
 * survive scavenges (as joined connections do) and the pages count as resident only once
 * allocation has walked over them, so a server that allocated a little more garbage during the
 * joins "costs" megabytes more. The bench therefore fixes the semi-space size on both servers
 * (see `PROBE_EXEC_ARGV` in target.ts) and, before each reading, allocates short-lived garbage
 * worth three semi-spaces so that the whole young generation is resident in both processes, then
 * runs a full GC. What is left to grow between two readings is what the joins retained: old space,
 * code, large objects and memory outside the V8 heap (sockets, buffers).
 *
 * server-probe-preload.ts is the preload entry that installs the IPC handler; this module has no
 * side effects.
 */
import { getHeapSpaceStatistics } from 'node:v8';

/** What the bench sends over the IPC channel. */
export interface MemoryProbeRequest {
  type: 'sigctl-bench-memory';
  id: number;
}

/** The answer: KiB after a full GC with the young generation resident. */
export interface MemoryReading {
  type: 'sigctl-bench-memory';
  id: number;
  rssKiB: number;
  /** V8 heap in use plus memory held by JS objects outside it (Buffers, native handles). */
  heapUsedKiB: number;
  externalKiB: number;
  /** V8's new-space size (Node 20 counts both semi-spaces, Node 22+ one), to show that both servers ran with the same young generation. */
  newSpaceKiB: number;
  /** False when the child was started without --expose-gc (the reading is then taken without a GC). */
  gc: boolean;
}

/** Type guard for a request arriving on the IPC channel. */
export function isMemoryProbeRequest(msg: unknown): msg is MemoryProbeRequest {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as Record<string, unknown>;
  return m.type === 'sigctl-bench-memory' && typeof m.id === 'number';
}

/** Allocates about `bytes` of garbage in small arrays, so that scavenges walk the whole young generation. */
function churn(bytes: number): number {
  let sink = 0;
  // An array of 62 small integers is ~512 bytes on a 64-bit heap with pointer compression off.
  for (let done = 0; done < bytes; done += 512) {
    const a = new Array<number>(62).fill(done & 0xff);
    sink += a.length;
  }
  return sink;
}

/** How long a reading waits after the GCs: V8 returns freed pages to the OS from a background thread. */
const SETTLE_MS = 250;

/** Takes one reading (exported for tests; the preload calls it on request). */
export async function readMemory(id: number): Promise<MemoryReading> {
  const semi = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 16 * 1024 * 1024;
  churn(3 * semi);
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice: the first full GC may leave finalizers and weak callbacks whose memory the second frees.
  gc?.();
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const m = process.memoryUsage();
  return {
    type: 'sigctl-bench-memory',
    id,
    rssKiB: Math.round(m.rss / 1024),
    heapUsedKiB: Math.round(m.heapUsed / 1024),
    externalKiB: Math.round(m.external / 1024),
    newSpaceKiB: Math.round(semi / 1024),
    gc: gc !== undefined,
  };
}
