/**
 * The nginx snippet of docs/operations.md, tried: a real nginx (started by the test, in its own
 * prefix directory, in the foreground) runs the doc's `map` and `location /` blocks as written, in
 * front of a real server with `trustProxy: ["127.0.0.1"]`. Health, a WebSocket join and the admin
 * API go through it, and the client address the server logs is the one in X-Forwarded-For.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { signToken, TEST_SECRET } from '../helpers/auth-tokens.js';
import { freePort } from '../helpers/redis-server.js';
import { mustFind, requires } from '../helpers/requires.js';
import { Resources, startTestServer, testConfig, TestClient, within } from '../helpers/server-harness.js';

const res = new Resources();
let nginx: ChildProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (nginx !== undefined && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx!.once('exit', resolve));
    nginx.kill('SIGTERM');
    await within(exited, 5000, 'nginx exit');
  }
  nginx = undefined;
  await res.closeAll();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The `map` block and the `location /` block of the nginx snippet in docs/operations.md. */
function snippet(): { map: string; location: string } {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  const map = block === undefined ? undefined : /map \$http_upgrade[\s\S]*?\n}\n/.exec(block)?.[0];
  const location = block === undefined ? undefined : / {2}location \/ \{[\s\S]*?\n {2}}\n/.exec(block)?.[0];
  if (map === undefined || location === undefined) throw new Error('docs/operations.md has no nginx snippet with a map and a location / block');
  return { map, location };
}

/** GET through nginx until it answers 200 (nginx has no readiness signal of its own). */
async function until200(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline || nginx?.exitCode !== null) throw new Error(`nginx did not come up at ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('behind nginx (docs/operations.md)', requires('nginx'), () => {
  it('proxies health, the WebSocket join and the admin API, and the server logs the forwarded client address', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const overrides: ConfigInput = { auth: { jwt: { secret: TEST_SECRET } }, trustProxy: ['127.0.0.1'] };
    const server = res.server(await startTestServer(overrides, { authenticator: createAuthenticator(testConfig(overrides).auth), logger: pino({ level: 'debug' }, sink) }));

    dir = mkdtempSync(join(tmpdir(), 'h16-ops-nginx-'));
    const port = await freePort();
    const { map, location } = snippet();
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${map}upstream sigctl {
  server 127.0.0.1:${server.port};
  keepalive 16;
}
server {
  listen 127.0.0.1:${port};
${location}}
}
`,
    );
    nginx = spawn(mustFind('nginx'), ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
    const front = `http://127.0.0.1:${port}`;
    await until200(`${front}/healthz`);

    const token = await signToken({ sub: 'alice', room: '*' });
    const c = res.client(await TestClient.connect(`ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`, { headers: { 'x-forwarded-for': '203.0.113.7' } }));
    c.send({ type: 'join', room: 'proxied' });
    expect((await c.next('joined')).room).toBe('proxied');

    const admin = await signToken({ sub: 'ops', admin: true });
    const list = await within(fetch(`${front}/v1/rooms`, { headers: { authorization: `Bearer ${admin}` } }), 3000, 'admin list');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { rooms: Array<{ id: string }> }).rooms.map((r) => r.id)).toEqual(['proxied']);

    expect(lines.some((l) => l.includes('"ip":"203.0.113.7"'))).toBe(true);
  });
});
