/**
 * The units of peer's human output (src/cli/units.ts, src/cli/commands/peer-render.ts): a tiny file
 * is "5 B in 12 ms", not "0.0 MiB in 0.01 s"; progress shows rate and ETA.
 */
import { describe, expect, it } from 'vitest';
import { fileLine, progressLine } from '../../src/cli/commands/peer-render.js';
import { formatBytes, formatDuration, formatRate } from '../../src/cli/units.js';

describe('human units', () => {
  it('sizes, durations and rates pick a unit that keeps the number readable', () => {
    expect(formatBytes(5)).toBe('5 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20.0 MiB');
    expect(formatDuration(12.4)).toBe('12 ms');
    expect(formatDuration(2414)).toBe('2.41 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatRate(1024 * 1024, 500)).toBe('2.00 MiB/s');
    expect(formatRate(10, 0)).toBeUndefined();
  });

  it('a progress line has the bar, amounts, rate and ETA', () => {
    expect(progressLine('sent', 'a.bin', 5 * 1024 * 1024, 20 * 1024 * 1024, 2000)).toBe(
      'sending a.bin  [######------------------] 25%  5.00 MiB / 20.0 MiB  2.50 MiB/s  ETA 6.00 s',
    );
  });

  it('a tiny transfer ends in bytes and milliseconds', () => {
    const line = fileLine({ type: 'file', peer: 'p', name: 'bob', direction: 'sent', file: 'tiny.txt', bytes: 5, sha256: 'ab', ok: true, ms: 12 }, 'sha256 ok');
    expect(line).toBe('sent tiny.txt to bob: 5 B in 12 ms (417 B/s), sha256 ok ab');
  });
});
