/**
 * Summarises V8 .cpuprofile files written by `node --cpu-prof` (issue 5: where does the time go).
 *
 *   node .bench-out/werift/bench/werift-profile.js <dir-or-file>... [--top 25]
 *     [--doc docs/werift-patches.md --section profile-after --title "..."] [--roles "sender,receiver"]
 *
 * Prints, per profile, the top functions by self time (with the werift bundle line they live on)
 * and self time grouped by werift source module (the bundle's `// ../sctp/src/sctp.ts` markers).
 * With --doc, also writes the summary as markdown between `<!-- werift-bench:<section>:... -->`
 * markers. Profiles of one bench run are labelled by pid order: the parent (sender) starts first;
 * --roles labels them in the order given instead (worker threads of one process share a pid).
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '25' },
    doc: { type: 'string' },
    section: { type: 'string' },
    title: { type: 'string', default: '' },
    /** Labels for the profiles, comma-separated, in the order given (no pid sort): e.g. the worker threads of one `sigctl bench` run. */
    roles: { type: 'string' },
  },
  allowPositionals: true,
});

let bundleMarkers: { line: number; module: string }[] | undefined;
function moduleOf(url: string, line: number): string {
  if (!url.includes('werift/lib/index.mjs')) {
    if (url === '') return '(native/gc/idle)';
    if (url.startsWith('node:')) return url;
    const m = /node_modules\/([^/]+)/.exec(url);
    return m?.[1] ?? url.replace(/^file:\/\/.*\/(src|bench)\//, '$1/');
  }
  if (!bundleMarkers) {
    const path = new URL(url).pathname;
    bundleMarkers = [];
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        const m = /^\/\/ (\S+\.ts)$/.exec(text);
        if (m?.[1]) bundleMarkers?.push({ line: i, module: m[1].replace(/^\.\.\//, '') });
      });
  }
  let found = 'werift';
  for (const marker of bundleMarkers) {
    if (marker.line > line) break;
    found = `werift:${marker.module}`;
  }
  return found;
}

const markdown: string[] = [];

function summarise(file: string, top: number, role: string): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byModule = new Map<string, number>();
  for (const node of p.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const mod = moduleOf(url, lineNumber);
    const key = `${functionName || '(anonymous)'}  [${mod}:${lineNumber + 1}]`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byModule.set(mod, (byModule.get(mod) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  console.log(`\n## ${file}  (${(total / 1e6).toFixed(2)} s sampled)`);
  console.log('\nself time by module:');
  for (const [k, v] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
  console.log('\nself time by function:');
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
  const n = Math.min(top, 12);
  markdown.push(
    `**${role}** (${(total / 1e6).toFixed(2)} s sampled): self time by module / by function`,
    '',
    '| share | module | | share | function |',
    '|---:|---|---|---:|---|',
  );
  const mods = [...byModule].sort((a, b) => b[1] - a[1]).slice(0, n);
  const fns = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, n);
  for (let i = 0; i < n; i++) {
    const m = mods[i];
    const f = fns[i];
    markdown.push(`| ${m ? pct(m[1]).trim() : ''} | ${m ? m[0] : ''} | | ${f ? pct(f[1]).trim() : ''} | ${f ? '`' + f[0].replace(/\|/g, '/') + '`' : ''} |`);
  }
  markdown.push('');
}

const files = positionals.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(p, f))
    : [p],
);
const pidOf = (f: string): number => Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1] ?? 0);
const roles = values.roles?.split(',');
if (roles === undefined) files.sort((a, b) => pidOf(a) - pidOf(b));
files.forEach((f, i) => summarise(f, Number(values.top), roles?.[i] ?? (files.length === 2 ? (i === 0 ? 'sender (parent process)' : 'receiver (child process)') : f)));
if (values.doc && values.section) {
  const body = [values.title, '', ...markdown].join('\n');
  const re = new RegExp(`(<!-- werift-bench:${values.section}:begin -->)[\\s\\S]*?(<!-- werift-bench:${values.section}:end -->)`);
  const doc = readFileSync(values.doc, 'utf8');
  if (!re.test(doc)) throw new Error(`no markers for ${values.section} in ${values.doc}`);
  writeFileSync(values.doc, doc.replace(re, (_m, begin: string, end: string) => `${begin}\n${body}\n${end}`));
}
