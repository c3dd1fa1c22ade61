// Issue 5's fresh-process figure: from spawning `sigctl peer` to its `peer-connected` event, with
// a local `sigctl serve` and an echo peer already in the room. Loopback only; stops by itself.
// Usage: npm run build && node bench/peer-startup.mjs [runs=7]
import { spawn } from 'node:child_process';
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/sigctl', import.meta.url));
const runs = Number(process.argv[2] ?? 7);
const env = { ...process.env, NO_COLOR: '1' };
const children = [];
const start = (args) => {
  const c = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  return c;
};
const lineMatching = (child, re, ms) =>
  new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms`)), ms);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.split('\n').find((l) => re.test(l));
      if (m !== undefined) {
        clearTimeout(t);
        resolve(m);
      }
    });
  });

try {
  const serve = start(['serve', '--port', '0', '--json', '--log-level', 'warn']);
  const { ws } = JSON.parse(await lineMatching(serve, /"listening"/, 10_000));
  const echo = start(['peer', '--room', 'startup', '--echo', '--url', ws, '--json', '--timeout', '300']);
  await lineMatching(echo, /"joined"/, 10_000);
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const p = start(['peer', '--room', 'startup', '--url', ws, '--json', '--timeout', '20']);
    await lineMatching(p, /"peer-connected"/, 20_000);
    ms.push(performance.now() - t0);
    p.kill('SIGINT');
    await new Promise((r) => p.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
  }
  ms.sort((a, b) => a - b);
  console.log(`node ${process.version}; spawn -> peer-connected, ms: ${ms.map((x) => x.toFixed(0)).join(' ')}; median ${ms[Math.floor(ms.length / 2)].toFixed(0)}`);
} finally {
  for (const c of children) c.kill('SIGKILL');
}
