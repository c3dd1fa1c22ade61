/**
 * Per-connection message rate limiting: a token bucket (`rate` per second, `burst` deep) and a
 * strike counter that turns persistent flooding into a close.
 */

/** The state of a token bucket: tokens left and when they were counted (ms). */
export interface BucketState {
  tokens: number;
  last: number;
}

/**
 * Takes one token from a bucket refilled continuously at `rate` per second up to `burst`; false
 * when it is empty. O(1) and allocation-free (hot path). A Connection keeps the state in its own
 * fields, which saves an object per connection and a pointer chase per message.
 */
export function takeToken(s: BucketState, rate: number, burst: number, t: number): boolean {
  const elapsed = t - s.last;
  if (elapsed > 0) {
    s.tokens = Math.min(burst, s.tokens + (elapsed * rate) / 1000);
    s.last = t;
  }
  if (s.tokens < 1) return false;
  s.tokens -= 1;
  return true;
}

/** A token bucket refilled continuously (see takeToken). */
export class TokenBucket implements BucketState {
  tokens: number;
  last: number;

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
    return takeToken(this, this.rate, this.burst, this.now());
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

  /** Slots held by `ip`. */
  count(ip: string): number {
    return this.counts.get(ip) ?? 0;
  }

  release(ip: string): void {
    const n = (this.counts.get(ip) ?? 0) - 1;
    if (n <= 0) this.counts.delete(ip);
    else this.counts.set(ip, n);
  }
}
