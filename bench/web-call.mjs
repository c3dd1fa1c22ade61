/* global document -- page functions run in Chromium */
// Issue 14's figures for the browser call app (docs/web.md): the time from opening the second page
// of a room to remote video playing on both pages, over N runs (p50/p95), and the app's size as a
// browser downloads it (every file gzipped as `serve` sends it). Writes bench/sections/50-web.md.
// Usage: npm run build && node bench/web-call.mjs [runs=20]
// Needs Debian's /usr/bin/chromium; uses fake camera and microphone; loopback only.
// One `serve` (in this process, as tsc built it) and one Chromium for all runs; each run opens two
// fresh browser contexts in a new room. "Playing" is the automation contract's check: the remote
// tile's <video> has videoWidth > 0 and currentTime > 0 (a frame was rendered and time runs).
import console from 'node:console';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { ConfigSchema } from '../dist/config/schema.js';
import { startServer } from '../dist/server/index.js';

const runs = Number(process.argv[2] ?? 20);
const root = new URL('../', import.meta.url);
const FILES = ['index.html', 'app.js', 'app.css', 'sigctl-client.js', 'icon.svg'];
const ARGS = ['--no-sandbox', '--disable-background-networking', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

const sizes = FILES.map((f) => {
  const body = readFileSync(new URL(`dist/web/${f}`, root));
  return { file: f, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
});
const total = sizes.reduce((a, s) => ({ raw: a.raw + s.raw, gzip: a.gzip + s.gzip }), { raw: 0, gzip: 0 });

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => sorted(xs)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const playing = (page) =>
  page.waitForFunction(
    () => {
      const v = document.querySelector('[data-peer-id] video');
      return v !== null && v.videoWidth > 0 && v.currentTime > 0;
    },
    undefined,
    { timeout: 30_000, polling: 'raf' },
  );

const loadBefore = loadavg();
const server = await startServer(ConfigSchema.parse({ host: '127.0.0.1', port: 0, logLevel: 'silent' }));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
const version = browser.version();
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    const room = `bench-${i}`;
    const url = (name) => `${server.httpUrl}/?room=${room}&name=${name}&autojoin=1`;
    const ctxA = await browser.newContext();
    const ctxB = await browser.newContext();
    try {
      const a = await ctxA.newPage();
      await a.goto(url('a'));
      await a.waitForFunction(() => document.body.dataset.state === 'waiting', undefined, { timeout: 20_000 });
      const t0 = performance.now();
      const b = await ctxB.newPage();
      await b.goto(url('b'));
      await Promise.all([playing(a), playing(b)]);
      times.push(performance.now() - t0);
      console.error(`run ${i + 1}/${runs}: ${times.at(-1).toFixed(0)} ms`);
    } finally {
      await ctxA.close();
      await ctxB.close();
    }
  }
} finally {
  await browser.close().catch(() => undefined);
  await server.close();
}
const loadAfter = loadavg();
const cpu = cpus();
const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
const md = `## Browser call app: second page to video playing both ways; app size

Command: \`npm run build && node bench/web-call.mjs ${runs}\` (bench/web-call.mjs), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.
Machine: ${cpu.length} x ${cpu[0]?.model ?? '?'}, Node ${process.version}, Chromium ${version} headless with fake camera and microphone, loopback.
Load average (1/5/15 min): ${load(loadBefore)} before, ${load(loadAfter)} after (a shared machine: other work ran meanwhile).

From opening the second page of a room (the first one waiting in it) to the remote \`<video>\` on
**both** pages having a frame and a running clock (\`videoWidth > 0\`, \`currentTime > 0\`): page
load, camera start, WebSocket connect and join, offer/answer, ICE, DTLS, first frame decoded.

| runs | p50 | p95 | min | max |
| --- | --- | --- | --- | --- |
| ${times.length} | ${quantile(times, 0.5).toFixed(0)} ms | ${quantile(times, 0.95).toFixed(0)} ms | ${Math.min(...times).toFixed(0)} ms | ${Math.max(...times).toFixed(0)} ms |

What a browser downloads (\`serve\` sends each file gzipped, level 9; the budget is 100 KB):

| file | bytes | gzipped |
| --- | --- | --- |
${sizes.map((s) => `| ${s.file} | ${s.raw.toLocaleString('en-US')} | ${s.gzip.toLocaleString('en-US')} |`).join('\n')}
| **total** | ${total.raw.toLocaleString('en-US')} | **${total.gzip.toLocaleString('en-US')}** (${kb(total.gzip)}) |
`;
const out = fileURLToPath(new URL('bench/sections/50-web.md', root));
writeFileSync(out, md);
console.log(md);
