/**
 * Where two sets of `perf record` runs differ (issue 17: what a cross-node signal costs that a
 * same-node one does not): samples per part of the process (the kernel, the node binary: V8's
 * built-ins and runtime, Node's C++ and libuv; the JIT's code, libc), then the symbols of one part
 * whose samples grow the most, with the JavaScript function that called each of the top ones.
 * Counts are per run (the mean of each set), so sets of different sizes compare.
 *
 *   node bench/perf-diff.mjs --a members-1.data,members-2.data --b rooms-1.data,rooms-2.data [--dso node] [--top 25]
 *
 * Runs `perf report` and `perf script` on each file (perf from linux-perf; the data of
 * bench/multinode-perf.mjs, whose nodes run with --perf-basic-prof so JavaScript frames have names).
 */
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    dso: { type: 'string', default: 'node' },
    top: { type: 'string', default: '25' },
  },
});
if (opts.a === undefined || opts.b === undefined) throw new Error('usage: --a FILE[,FILE...] --b FILE[,FILE...] [--dso node] [--top 25]');
const top = Number(opts.top);
const say = (line) => process.stdout.write(`${line}\n`);
const MAX = 1024 * 1024 * 1024;

/** Samples by key of one file: `perf report` rows of `--sort <sort>` (sample count, then the key). */
function report(file, sort, extra = []) {
  const out = execFileSync('perf', ['report', '-i', file, '--no-children', '--sort', sort, '-g', 'none', '-F', `sample,${sort}`, ...extra], { encoding: 'utf8', maxBuffer: MAX, stdio: ['ignore', 'pipe', 'ignore'] });
  const rows = new Map();
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(?:\[\.\]\s+|\[k\]\s+)?(.+?)\s*$/.exec(line);
    if (m === null || line.startsWith('#')) continue;
    rows.set(m[2], (rows.get(m[2]) ?? 0) + Number(m[1]));
  }
  return rows;
}

/** The part of the process a `perf report --sort dso` row is. */
function part(dso) {
  if (dso.startsWith('[kernel')) return 'kernel';
  if (dso === 'node') return 'node binary (V8 built-ins and runtime, Node C++, libuv)';
  if (dso.startsWith('[JIT]')) return "JIT code (optimised JavaScript, sigctl's and libraries')";
  if (dso.startsWith('libc')) return 'libc';
  return 'other';
}

/** Mean samples per run of `files`, by key. */
function mean(files, rowsOf) {
  const sum = new Map();
  for (const f of files) for (const [k, n] of rowsOf(f)) sum.set(k, (sum.get(k) ?? 0) + n);
  return new Map([...sum].map(([k, n]) => [k, n / files.length]));
}

/** The innermost JavaScript caller of each sample whose leaf is `symbol`, counted over `files`. */
function callers(files, symbol) {
  const counts = new Map();
  for (const f of files) {
    const text = execFileSync('perf', ['script', '-i', f], { encoding: 'utf8', maxBuffer: MAX, stdio: ['ignore', 'pipe', 'ignore'] });
    for (const block of text.split('\n\n')) {
      const frames = block.split('\n').filter((l) => /^\s/.test(l)).map((l) => l.trim().split(' ').slice(1).join(' ').replace(/ \([^)]*\)$/, ''));
      if (frames[0]?.replace(/\+0x[0-9a-f]+$/, '') !== symbol) continue;
      const js = frames.find((fr, i) => i > 0 && fr.startsWith('JS:')) ?? '(no JavaScript frame)';
      const k = js.replace(/\+0x[0-9a-f]+/, '').replace(/file:\/\/\S*\/dist\/bundle\//, 'dist/bundle/').replace(/\S*\/node_modules\//, '');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return [...counts].sort((x, y) => y[1] - x[1]).slice(0, 2);
}

const A = opts.a.split(',');
const B = opts.b.split(',');
const fmt = (n) => String(Math.round(n));
const byPart = (files) =>
  mean(files, (f) => {
    const parts = new Map();
    for (const [dso, n] of report(f, 'dso')) parts.set(part(dso), (parts.get(part(dso)) ?? 0) + n);
    return parts;
  });
const pa = byPart(A);
const pb = byPart(B);
const total = (m) => [...m.values()].reduce((s, n) => s + n, 0);
say(`samples per run: a ${fmt(total(pa))} (${A.length} runs), b ${fmt(total(pb))} (${B.length} runs), a - b ${fmt(total(pa) - total(pb))}\n`);
say('| part | a | b | a - b | share of a - b |\n|---|---:|---:|---:|---:|');
const diff = total(pa) - total(pb);
for (const k of [...new Set([...pa.keys(), ...pb.keys()])].sort((x, y) => (pa.get(y) ?? 0) - (pb.get(y) ?? 0) - ((pa.get(x) ?? 0) - (pb.get(x) ?? 0)))) {
  const d = (pa.get(k) ?? 0) - (pb.get(k) ?? 0);
  say(`| ${k} | ${fmt(pa.get(k) ?? 0)} | ${fmt(pb.get(k) ?? 0)} | ${fmt(d)} | ${((100 * d) / diff).toFixed(0)}% |`);
}
const sa = mean(A, (f) => report(f, 'sym', ['--dsos', opts.dso]));
const sb = mean(B, (f) => report(f, 'sym', ['--dsos', opts.dso]));
const rows = [...new Set([...sa.keys(), ...sb.keys()])].map((k) => ({ k, a: sa.get(k) ?? 0, b: sb.get(k) ?? 0 })).sort((x, y) => y.a - y.b - (x.a - x.b));
say(`\nsymbols of ${opts.dso} whose samples grow the most (per run), with the two JavaScript functions that call them most (in a):\n`);
say('| symbol | a | b | a - b | called from (samples, every run of a) |\n|---|---:|---:|---:|---|');
rows.slice(0, top).forEach((r, i) => {
  const from = i < 8 ? callers(A, r.k).map(([js, n]) => `${js.replace(/^JS:/, '')} (${n})`).join('; ') : '';
  say(`| ${r.k} | ${fmt(r.a)} | ${fmt(r.b)} | ${fmt(r.a - r.b)} | ${from} |`);
});
