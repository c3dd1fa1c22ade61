/** Token lifetimes on the command line: `90`, `90s`, `30m`, `1h`, `7d`. */

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses a duration such as `90`, `90s`, `30m`, `1h`, `7d` into seconds; undefined when invalid. */
export function parseDuration(value: string): number | undefined {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(value);
  if (m === null) return undefined;
  const seconds = Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase() || 's']!;
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}
