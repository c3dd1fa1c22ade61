/**
 * A plain text table for the human report: right-aligned numbers, left-aligned text, a bold
 * header, columns sized to their widest cell. Colour comes in as a chalk instance (the CLI decides
 * whether colour is on), and widths ignore ANSI escapes.
 */
import type { ChalkInstance } from 'chalk';

export type Cell = string | number | null | undefined;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Formats a number for a table: fixed decimals, thousands kept plain, '-' when not measured. */
export function num(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v.toFixed(digits);
}

/** Renders rows under a header; the first column is left-aligned, the rest right-aligned. */
export function renderTable(color: ChalkInstance, header: readonly string[], rows: ReadonlyArray<readonly Cell[]>, indent = '  '): string[] {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : typeof c === 'number' ? (Number.isInteger(c) ? String(c) : num(c)) : c)));
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...text.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (s: string, i: number): string => {
    const gap = ' '.repeat(Math.max(0, widths[i]! - visibleLength(s)));
    return i === 0 ? s + gap : gap + s;
  };
  const lines = [indent + color.bold(header.map(pad).join('  '))];
  for (const r of text) lines.push(indent + header.map((_, i) => pad(r[i] ?? '', i)).join('  '));
  return lines;
}
