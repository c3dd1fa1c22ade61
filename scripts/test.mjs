// `npm test`. In a clone: build, then the whole vitest suite (arguments go to vitest). In an
// unpacked tarball (no test/ shipped): a self-test of the package as built, the same round trip a
// user tries first: `sigctl serve`, its /healthz, `sigctl peer --echo` and `sigctl peer --message`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

if (existsSync('test') && existsSync('vitest.config.ts')) {
  const build = spawnSync(npm, ['run', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const vitest = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(vitest.status ?? 1);
}

const children = [];
const fail = (why) => {
  process.stderr.write(`package self-test FAILED: ${why}\n`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
};
setTimeout(() => fail('no result within 90 s'), 90_000).unref();

/** Starts `sigctl ...args`; resolves with the first stdout line matching `test`. */
function sigctl(args, test) {
  const env = { ...process.env };
  delete env.SIGCTL_URL; // a developer's shell must not point the self-test elsewhere
  delete env.SIGCTL_TOKEN;
  const child = spawn(process.execPath, ['bin/sigctl', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  children.push(child);
  let buf = '';
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const line = new Promise((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      const hit = buf.split('\n').find((l) => test(l));
      if (hit !== undefined) resolve(hit);
    });
  });
  return { child, line, exited, output: () => buf };
}

const serve = sigctl(['serve', '--port', '0', '--json', '--log-level', 'warn'], (l) => l.includes('"listening"'));
const banner = JSON.parse(await serve.line);
const health = await globalThis.fetch(banner.healthz);
if (health.status !== 200) fail(`/healthz answered ${health.status}`);
const echo = sigctl(['peer', '--room', 'self-test', '--url', banner.ws, '--echo', '--json', '--timeout', '60'], (l) => l.includes('"joined"'));
await echo.line;
const talk = sigctl(['peer', '--room', 'self-test', '--url', banner.ws, '--message', 'self-test', '--count', '1', '--json', '--timeout', '45'], () => false);
const code = await talk.exited;
if (code !== 0 || !talk.output().includes('"text":"self-test"')) fail(`peer --message exited ${code}:\n${talk.output()}`);
for (const c of children) c.kill('SIGTERM');
process.stdout.write('package self-test passed: serve, /healthz, peer --echo and peer --message round trip\n(the full test suite runs from a clone: npm install && npm test)\n');
process.exit(0);
