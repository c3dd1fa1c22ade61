/** Human units for terminal output: byte sizes, rates and durations. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `512 B`, `1.5 KiB`, `20.0 MiB`, `1.25 GiB`: the largest unit that keeps the number >= 1. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value.toFixed(value < 10 ? 2 : 1)} ${BYTE_UNITS[unit]}`;
}

/** `350 ms`, `2.41 s`, `12.3 s`, `3 min 05 s`. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  const s = v / 1000;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

/** `1.50 MiB/s` for `bytes` moved in `ms`; undefined when the time is too short to say. */
export function formatRate(bytes: number, ms: number): string | undefined {
  if (ms < 1) return undefined;
  return `${formatBytes((bytes * 1000) / ms)}/s`;
}
