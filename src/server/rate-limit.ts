/**
 * Per-connection message rate limiting: a token bucket (`rate` per second, `burst` deep) and a
 * strike counter that turns persistent flooding into a close.
 */

/** A token bucket refilled continuously; `take()` is O(1) and allocation-free (hot path). */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    const elapsed = t - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.last = t;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Counts strikes within a sliding window; `strike()` is true once `max` is exceeded. */
export class StrikeCounter {
  private readonly times: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  strike(): boolean {
    const t = this.now();
    this.times.push(t);
    while (this.times.length > 0 && this.times[0]! <= t - this.windowMs) this.times.shift();
    return this.times.length > this.max;
  }
}

/** Counts open connections per remote address. */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Reserves a slot for `ip`; false when it already holds `max`. */
  acquire(ip: string): boolean {
    const n = this.counts.get(ip) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = (this.counts.get(ip) ?? 0) - 1;
    if (n <= 0) this.counts.delete(ip);
    else this.counts.set(ip, n);
  }
}
