/**
 * `sigctl serve` as a user runs it: the built bin/sigctl, a banner on stdout, JSON logs on stderr,
 * real WebSocket clients joining and relaying, and a signal draining it and exiting 0 (a second
 * signal: 143/130 at once).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as pathJoin } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bannerOf, Daemons } from '../helpers/server-daemon.js';
import { TestClient, within } from '../helpers/server-harness.js';
import { until } from '../helpers/within.js';

describe('sigctl serve (e2e)', () => {
  const daemons = new Daemons();
  const run = daemons.run.bind(daemons);
  afterEach(() => daemons.closeAll());

  it('prints a JSON banner, accepts joins, relays signals, logs JSON with conn and room, exits 0 after a SIGTERM drain', async () => {
    const d = run(['serve', '--port', '0', '--json', '--log-level', 'debug'], { SIGCTL_DRAIN_MS: '200' });
    const banner = await bannerOf(d);
    expect(banner).toMatchObject({ type: 'listening', protocol: 1 });
    expect(banner.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    expect(banner.port).toBeGreaterThan(0);
    expect(banner.healthz).toBe(`${banner.listen}/healthz`);
    expect(banner.app).toBe(`${banner.listen}/`); // the browser app (docs/web.md)
    expect((await within(fetch(banner.healthz), 3000, 'healthz')).status).toBe(200);
    expect((await within(fetch(banner.readyz), 3000, 'readyz')).status).toBe(200);
    expect(await (await within(fetch(banner.metrics), 3000, 'metrics')).text()).toContain('sigctl_connections');

    const a = await TestClient.connect(`${banner.ws}?token=very-secret-token`);
    const b = await TestClient.connect(banner.ws);
    daemons.client(a);
    daemons.client(b);
    a.send({ type: 'join', room: 'e2e' });
    const ja = await a.next('joined');
    b.send({ type: 'join', room: 'e2e' });
    const jb = await b.next('joined');
    await a.next('ready');
    a.send({ type: 'signal', to: jb.self.id, data: { description: { type: 'offer', sdp: 'v=0' } } });
    expect(await b.next('signal')).toEqual({ type: 'signal', from: ja.self.id, data: { description: { type: 'offer', sdp: 'v=0' } } });

    expect(await d.stop('SIGTERM')).toBe(0);
    expect(await a.next('bye')).toMatchObject({ type: 'bye', reason: 'shutdown' });
    expect((await a.waitClosed()).code).toBe(1001);

    const lines = d
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const joinedLine = lines.find((l) => l.event === 'joined');
    expect(joinedLine).toMatchObject({ room: 'e2e', conn: expect.any(String) as string });
    expect(lines.some((l) => l.event === 'draining')).toBe(true);
    expect(d.stderr()).not.toContain('very-secret-token');
    expect(d.stdout().trim().split('\n')).toHaveLength(1);
  });

  it('prints a human banner naming the ws URL, health, readiness, metrics and nodes; exits 0 after a SIGINT drain', async () => {
    const d = run(['serve', '--port', '0', '--path', '/signal', '--log-level', 'silent'], { SIGCTL_DRAIN_MS: '0' });
    const first = await d.firstLine;
    expect(first).toMatch(/^sigctl serve listening on http:\/\/127\.0\.0\.1:\d+ \(protocol v1\)$/);
    await until(() => d.stdout().includes('metrics'), 3000, 'the full banner');
    const out = d.stdout();
    expect(out).toMatch(/websocket\s+ws:\/\/127\.0\.0\.1:\d+\/signal/);
    expect(out).toMatch(/health\s+http:\/\/.*\/healthz/);
    expect(out).toMatch(/ready\s+http:\/\/.*\/readyz/);
    expect(out).toMatch(/metrics\s+http:\/\/.*\/metrics/);
    expect(out).toMatch(/nodes\s+http:\/\/.*\/v1\/nodes/);
    expect(await d.stop('SIGINT')).toBe(0);
  });

  it('warns on stderr when it listens beyond loopback without auth or origin checks', async () => {
    // Listens on every interface for a moment; no traffic leaves loopback.
    const d = run(['serve', '--host', '0.0.0.0', '--port', '0', '--json', '--log-level', 'silent'], { SIGCTL_DRAIN_MS: '0' });
    JSON.parse(await d.firstLine);
    expect(d.stderr()).toContain('without auth.jwt');
    expect(d.stderr()).toContain('empty origins list');
    expect(await d.stop('SIGTERM')).toBe(0);
    const quiet = run(['serve', '--port', '0', '--json', '--log-level', 'silent'], { SIGCTL_DRAIN_MS: '0' });
    JSON.parse(await quiet.firstLine);
    expect(quiet.stderr()).not.toContain('warning');
  });

  it('a second signal exits at once instead of waiting for the drain', async () => {
    const d = run(['serve', '--port', '0', '--json', '--log-level', 'silent'], { SIGCTL_DRAIN_MS: '60000' });
    const banner = await bannerOf(d);
    const a = await TestClient.connect(banner.ws);
    daemons.client(a);
    d.child.kill('SIGTERM');
    await a.next('bye');
    expect(await d.stop('SIGTERM', 5000)).toBe(143);
  });

  it('never loads werift (it costs ~0.5 s and serve does not need it)', async () => {
    // A module resolve hook reports every werift import the process makes.
    const dir = mkdtempSync(pathJoin(tmpdir(), 'sigctl-hook-'));
    try {
      writeFileSync(
        pathJoin(dir, 'hook.mjs'),
        "export async function resolve(s, c, next) { if (s.includes('werift')) process.stderr.write('WERIFT-LOADED ' + s + '\\n'); return next(s, c); }\n",
      );
      writeFileSync(pathJoin(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(pathJoin(dir, 'hook.mjs')).href)});\n`);
      const d = run(['serve', '--port', '0', '--json', '--log-level', 'silent'], { SIGCTL_DRAIN_MS: '0' }, ['--import', pathToFileURL(pathJoin(dir, 'register.mjs')).href]);
      const banner = await bannerOf(d);
      const a = await TestClient.connect(banner.ws);
      daemons.client(a);
      a.send({ type: 'join', room: 'no-werift' });
      await a.next('joined');
      expect(await d.stop('SIGTERM')).toBe(0);
      expect(d.stderr()).not.toContain('WERIFT-LOADED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 for config errors naming the flag or key', async () => {
    const bad = run(['serve', '--port', '0', '--capacity', '20', '--max-capacity', '4']);
    expect(await within(bad.exited, 10_000, 'exit')).toBe(2);
    expect(bad.stderr()).toMatch(/CONFIG_INVALID/);
    expect(bad.stderr()).toMatch(/rooms/);
    const usage = run(['serve', '--port', 'eighty']);
    expect(await within(usage.exited, 10_000, 'exit')).toBe(2);
    expect(usage.stderr()).toMatch(/--port/);
    // An unreachable Redis at start is a runtime failure, named as such.
    const redis = run(['serve', '--port', '0', '--redis', 'redis://127.0.0.1:1']);
    expect(await within(redis.exited, 15_000, 'exit')).toBe(1);
    expect(redis.stderr()).toMatch(/UNAVAILABLE/);
  });
});
