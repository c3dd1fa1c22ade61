/**
 * `sigctl serve` as an operator meets it in the first minutes: the example config's placeholder
 * secrets refused, -q and the log formats, the banner on a wildcard host, the help, and the
 * public URL of a node in GET /v1/nodes when Redis is used.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';
import { redisForSuite } from '../helpers/redis-server.js';
import { bannerOf, Daemons } from '../helpers/server-daemon.js';
import { TestClient } from '../helpers/server-harness.js';
import { until, within } from '../helpers/within.js';
import { requires } from '../helpers/requires.js';

const EXAMPLE = fileURLToPath(new URL('../../config.example.json', import.meta.url));

/** Resolves with `read()` once it satisfies `ok` (re-read on the output already collected), bounded. */
async function output(read: () => string, ok: (text: string) => boolean, what: string, ms = 5000): Promise<string> {
  await until(() => ok(read()), ms, what);
  return read();
}

describe('sigctl serve: operator papercuts (e2e)', () => {
  const daemons = new Daemons({ env: { SIGCTL_DRAIN_MS: '0' } });
  const run = daemons.run.bind(daemons);
  afterEach(() => daemons.closeAll());

  it('refuses the placeholder secrets of config.example.json with PLACEHOLDER_SECRET and a hint', async () => {
    const r = await runCli(['serve', '--config', EXAMPLE, '--port', '0'], { cleanEnv: true });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('PLACEHOLDER_SECRET');
    expect(r.stderr).toContain('auth.jwt.secret');
    expect(r.stderr).toContain('ice.turn.0.secret');
    expect(r.stderr).toContain('ice.turn.1.credential');
    expect(r.stderr).toContain('openssl rand');
    // The secrets themselves are never echoed.
    expect(r.stderr).not.toContain('change-me-to');
    // A placeholder from the environment is refused as well; a real secret is accepted.
    const ok = run(['serve', '--port', '0', '--json', '--log-level', 'silent'], { SIGCTL_AUTH_JWT_SECRET: 'change-me-please-1234567' });
    await expect(ok.exited).resolves.toBe(2);
    const real = run(['serve', '--port', '0', '--json', '--log-level', 'silent'], { SIGCTL_AUTH_JWT_SECRET: 'kq3vXb0nL2rT8yWcZ5pE' });
    JSON.parse(await real.firstLine);
  });

  it('-q keeps info lines out of stderr; --log-format pretty prints readable lines, json pino lines', async () => {
    const quiet = run(['serve', '--port', '0', '--json', '-q']);
    const banner = await bannerOf(quiet);
    const a = await TestClient.connect(banner.ws);
    daemons.client(a);
    a.send({ type: 'join', room: 'q' });
    await a.next('joined');
    expect(await quiet.stop('SIGTERM')).toBe(0);
    expect(quiet.stderr()).toBe('');

    const pretty = run(['serve', '--port', '0', '--json', '--log-format', 'pretty']);
    JSON.parse(await pretty.firstLine);
    const text = await output(() => pretty.stderr(), (t) => t.includes('listening'), 'the listening line');
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening event=listening url=http:\/\/127\.0\.0\.1:\d+ /m);
    expect(text).not.toContain('{"level"');

    const json = run(['serve', '--port', '0', '--json'], { SIGCTL_LOG_FORMAT: 'json' });
    JSON.parse(await json.firstLine);
    const line = (await output(() => json.stderr(), (t) => t.includes('\n'), 'a log line')).split('\n')[0]!;
    expect(JSON.parse(line)).toMatchObject({ level: 30, event: 'listening' });
  });

  it('on 0.0.0.0 the banner shows reachable addresses, loopback first, and lists /v1/nodes', async () => {
    // Listens on every interface for a moment; no traffic leaves loopback.
    const human = run(['serve', '--host', '0.0.0.0', '--port', '0', '--log-level', 'silent']);
    expect(await human.firstLine).toMatch(/^sigctl serve listening on every interface \(0\.0\.0\.0\), port \d+ \(protocol v1\)$/);
    const out = await output(() => human.stdout(), (t) => t.includes('/v1/ice-servers'), 'the full banner');
    expect(out).toMatch(/^ {2}reachable {2}http:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toMatch(/^ {2}websocket {2}ws:\/\/127\.0\.0\.1:\d+\/ws$/m);
    expect(out).toMatch(/^ {2}nodes {6}http:\/\/127\.0\.0\.1:\d+\/v1\/nodes$/m);
    expect(out).not.toContain('0.0.0.0:');

    const json = run(['serve', '--host', '0.0.0.0', '--port', '0', '--json', '--log-level', 'silent']);
    const banner = await bannerOf(json);
    expect(banner.host).toBe('0.0.0.0');
    expect(banner.reachable[0]).toBe(`http://127.0.0.1:${banner.port}`);
    expect(banner.listen).toBe(banner.reachable[0]);
    expect(banner.nodes).toBe(`http://127.0.0.1:${banner.port}/v1/nodes`);
    expect((await within(fetch(banner.nodes), 3000, 'nodes')).status).toBe(200);
    // The advertised WebSocket URL works (connect waits for welcome).
    daemons.client(await TestClient.connect(banner.ws));
  });

  it('help shows examples, defaults and the global --config; --capacity 0 says "at least 1"', async () => {
    const help = await runCli(['serve', '--help'], { cleanEnv: true });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toMatch(/-c, --config <file>/);
    expect(help.stdout).toMatch(/--log-level <level>[\s\S]*default info/);
    expect(help.stdout).toMatch(/--stun-port <port>[\s\S]*default off/);
    const zero = await runCli(['serve', '--capacity', '0'], { cleanEnv: true });
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('at least 1');
    expect(zero.stderr).not.toContain('9007199254740991');
  });
});

describe('sigctl serve --redis --public-url (e2e)', requires('redis-server'), () => {
  const redis = redisForSuite();
  const daemons = new Daemons({ env: { SIGCTL_DRAIN_MS: '0' } });
  afterEach(() => daemons.closeAll());

  it('GET /v1/nodes gives the node its public URL from the first listing on', async () => {
    const d = daemons.run(['serve', '--host', '0.0.0.0', '--port', '0', '--json', '--log-level', 'warn', '--redis', redis.url, '--public-url', 'wss://node-a.example.com/ws'], {
      SIGCTL_REDIS_NODE_ID: 'node-a',
      SIGCTL_REDIS_KEY_PREFIX: `pub${Date.now()}:`,
    });
    const banner = await bannerOf(d);
    const body = (await (await within(fetch(banner.nodes), 3000, 'nodes')).json()) as { nodes: Array<{ id: string; url?: string }> };
    expect(body.nodes).toEqual([expect.objectContaining({ id: 'node-a', url: 'wss://node-a.example.com/ws' })]);
    expect(await d.stop('SIGTERM')).toBe(0);
  });
});
