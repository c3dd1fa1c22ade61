/**
 * The front door as a user and an operator meet it: a plain GET of the WebSocket path (426), other
 * methods (405), statuses from the catalogue; trustProxy deciding which address per-IP limits and
 * logs see; publicUrl in GET /v1/nodes; process metrics in /metrics when asked for.
 */
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { httpStatus } from '../../src/protocol/errors.js';
import { createServerLogger } from '../../src/server/index.js';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';

const send = (url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> =>
  within(
    new Promise((resolve, reject) => {
      const req = request(url, { method }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    }),
    3000,
    `${method} ${url}`,
  );

/** A logger whose JSON lines are kept for the test to read. */
function capturedLogger(): { lines: () => Array<Record<string, unknown>>; logger: ReturnType<typeof createServerLogger> } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: createServerLogger('debug', sink),
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('the front door', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('answers a plain GET of the WebSocket path with 426 UPGRADE_REQUIRED, other methods with 405', async () => {
    const s = res.server(await startTestServer({ path: '/signal' }));
    const plain = await send(`${s.httpUrl}/signal`);
    expect(plain.status).toBe(426);
    expect(plain.headers.upgrade).toBe('websocket');
    expect(JSON.parse(plain.body)).toMatchObject({ error: { code: 'UPGRADE_REQUIRED' } });
    expect(httpStatus('UPGRADE_REQUIRED')).toBe(426);
    const post = await send(`${s.httpUrl}/healthz`, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(post.body)).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
    expect((await send(`${s.httpUrl}/ws`)).status).toBe(404);
    // The WebSocket itself still works on that path.
    res.client(await TestClient.connect(s.url));
  });

  it('without trustProxy, X-Forwarded-For is ignored: every client counts as the socket address', async () => {
    const s = res.server(await startTestServer({ limits: { maxConnectionsPerIp: 1 } }));
    res.client(await TestClient.open(s.url, { headers: { 'x-forwarded-for': '203.0.113.1' } }));
    await expect(TestClient.open(s.url, { headers: { 'x-forwarded-for': '203.0.113.2' } })).rejects.toThrow(/429/);
  });

  it('with trustProxy, the client named by a trusted proxy keys the per-IP limit and the logs', async () => {
    const log = capturedLogger();
    const s = res.server(await startTestServer({ trustProxy: ['127.0.0.0/8'], limits: { maxConnectionsPerIp: 1 } }, { logger: log.logger }));
    const a = res.client(await TestClient.open(s.url, { headers: { 'x-forwarded-for': '203.0.113.1' } }));
    // Two proxies: the client wrote a fake first entry; the right-most untrusted hop is the client.
    const b = res.client(await TestClient.open(s.url, { headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.2, 127.0.0.5' } }));
    await a.next('welcome');
    await b.next('welcome');
    await expect(TestClient.open(s.url, { headers: { 'x-forwarded-for': '203.0.113.1' } })).rejects.toThrow(/429/);
    const connected = log.lines().filter((l) => l.event === 'connected');
    expect(connected.map((l) => l.ip).sort()).toEqual(['203.0.113.1', '203.0.113.2']);
    const refused = log.lines().find((l) => l.event === 'refused');
    expect(refused).toMatchObject({ ip: '203.0.113.1' });
  });

  it('rejects a trustProxy entry that is not an address or CIDR', () => {
    const issues = (entry: string): string => JSON.stringify(ConfigSchema.safeParse({ trustProxy: [entry] }).error?.issues ?? []);
    expect(issues('10.0.0.0/33')).toMatch(/prefix length/);
    expect(issues('proxy.local')).toMatch(/not an IP address/);
    expect(issues('fd00::/8')).toBe('[]');
  });

  it('lists publicUrl as the node url in GET /v1/nodes; a wildcard host without it lists no url', async () => {
    const s = res.server(await startTestServer({ publicUrl: 'wss://node-a.example.com/ws' }));
    const nodes = JSON.parse((await send(`${s.httpUrl}/v1/nodes`)).body) as { nodes: Array<{ url?: string }> };
    expect(nodes.nodes[0]?.url).toBe('wss://node-a.example.com/ws');
    const wild = res.server(await startTestServer({ host: '0.0.0.0' }));
    const listed = JSON.parse((await send(`http://127.0.0.1:${wild.port}/v1/nodes`)).body) as { nodes: Array<{ url?: string }> };
    expect(listed.nodes[0]).not.toHaveProperty('url');
  });

  it('adds process metrics (CPU, RSS, event-loop lag, GC) with the sigctl_ prefix when asked to', async () => {
    const s = res.server(await startTestServer({}, { processMetrics: true }));
    const text = (await send(`${s.httpUrl}/metrics`)).body;
    for (const name of ['sigctl_process_cpu_seconds_total', 'sigctl_process_resident_memory_bytes', 'sigctl_nodejs_eventloop_lag_seconds', 'sigctl_nodejs_gc_duration_seconds', 'sigctl_connections']) {
      expect(text, name).toContain(name);
    }
    const plain = res.server(await startTestServer());
    expect(await plain.metrics()).not.toContain('sigctl_process_cpu_seconds_total');
  });
});
