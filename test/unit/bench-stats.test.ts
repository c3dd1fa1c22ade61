import { describe, expect, it } from 'vitest';
import { concatSamples, percentile, round, SampleBuffer, summarize } from '../../src/bench/stats.js';

describe('bench statistics', () => {
  it('uses nearest-rank percentiles, so every figure is a measured sample', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });

  it('summarises unsorted samples numerically without changing them', () => {
    const samples = [10, 2, 33, 4, 5];
    const s = summarize(samples);
    expect(samples).toEqual([10, 2, 33, 4, 5]);
    expect(s).toEqual({ count: 5, min: 2, mean: 54 / 5, p50: 5, p95: 33, p99: 33, max: 33 });
  });

  it('reports an empty distribution as NaN (null in JSON)', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(JSON.parse(JSON.stringify(s))).toEqual({ count: 0, min: null, mean: null, p50: null, p95: null, p99: null, max: null });
  });

  it('grows a sample buffer and drains it per window', () => {
    const b = new SampleBuffer(16);
    for (let i = 0; i < 1000; i++) b.push(i);
    expect(b.length).toBe(1000);
    const first = b.drain();
    expect(first.length).toBe(1000);
    expect(first[999]).toBe(999);
    expect(b.length).toBe(0);
    b.push(5);
    expect([...b.toArray()]).toEqual([5]);
  });

  it('concatenates per-worker samples and rounds for display', () => {
    expect([...concatSamples([Float64Array.of(1, 2), Float64Array.of(), Float64Array.of(3)])]).toEqual([1, 2, 3]);
    expect(round(1.23456, 2)).toBe(1.23);
    expect(Number.isNaN(round(NaN))).toBe(true);
  });
});
