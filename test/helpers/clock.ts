/**
 * A Clock (src/client/clock.ts) on real timers that records which of its timers are pending (set,
 * neither fired nor cleared): "nothing is scheduled" is then a fact a test reads, where a sleep
 * could only hope that nothing happened in its window.
 */
import type { Clock, TimerHandle } from '../../src/client/clock.js';

export class RecordingClock implements Clock {
  private readonly live = new Set<ReturnType<typeof setTimeout>>();

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.live.size;
  }

  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = setTimeout(() => {
      this.live.delete(handle);
      fn();
    }, ms);
    this.live.add(handle);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
    this.live.delete(handle as ReturnType<typeof setTimeout>);
  }
}
