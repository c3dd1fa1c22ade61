/**
 * Latency statistics for bench reports. Percentiles use the nearest-rank method (the value at rank
 * ceil(p/100 * n) of the sorted samples), so every reported figure is a sample that was measured,
 * never an interpolation between two of them.
 */

/** A distribution summary in the unit of its samples (milliseconds throughout the bench). */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The summary of no samples: every figure is null in JSON (NaN is not JSON). */
export const EMPTY_SUMMARY: Readonly<Summary> = Object.freeze({ count: 0, min: NaN, mean: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN });

/** The nearest-rank percentile `p` (0 < p <= 100) of ascending `sorted` samples; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1]!;
}

/** Summarises samples (not modified: a sorted copy is made). */
export function summarize(samples: ArrayLike<number> | Iterable<number>): Summary {
  const sorted = Float64Array.from(samples as Iterable<number>).sort();
  const n = sorted.length;
  if (n === 0) return { ...EMPTY_SUMMARY };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    min: sorted[0]!,
    mean: sum / n,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[n - 1]!,
  };
}

/**
 * A growable sample buffer backed by a Float64Array, so that hundreds of thousands of latency
 * samples cost 8 bytes each and can be transferred from a worker thread without copying.
 */
export class SampleBuffer {
  private data: Float64Array<ArrayBuffer>;
  private n = 0;

  constructor(initialCapacity = 1024) {
    this.data = new Float64Array(Math.max(16, initialCapacity));
  }

  push(v: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = v;
  }

  get length(): number {
    return this.n;
  }

  /** The samples so far, as an exact-length copy (safe to transfer). */
  toArray(): Float64Array<ArrayBuffer> {
    return this.data.slice(0, this.n);
  }

  /** Returns the samples and starts over (one buffer per measurement window). */
  drain(): Float64Array<ArrayBuffer> {
    const out = this.toArray();
    this.n = 0;
    return out;
  }
}

/** Concatenates sample arrays (e.g. one per worker). */
export function concatSamples(parts: readonly Float64Array[]): Float64Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Rounds for display and JSON: `digits` decimals, NaN kept as NaN (serialised as null). */
export function round(v: number, digits = 3): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A summary with every figure rounded to `digits` decimals. */
export function roundSummary(s: Summary, digits = 3): Summary {
  return {
    count: s.count,
    min: round(s.min, digits),
    mean: round(s.mean, digits),
    p50: round(s.p50, digits),
    p95: round(s.p95, digits),
    p99: round(s.p99, digits),
    max: round(s.max, digits),
  };
}
