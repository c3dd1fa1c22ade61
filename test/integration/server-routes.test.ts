/**
 * The HTTP route table (src/server/http.ts) is a list other modules extend: a route with a RegExp
 * path gets its named groups, a route answers only its methods (405 with `allow` otherwise, HEAD
 * wherever GET), and paths no route serves keep the server's fallbacks (426 on the WebSocket path,
 * 404, 405 GET/HEAD). A real HTTP server on 127.0.0.1 port 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRequestHandler, sendJson, type HttpRoute } from '../../src/server/http.js';
import { within } from '../helpers/server-harness.js';

const routes: HttpRoute[] = [
  { path: '/v1/ping', handle: (_req, res) => sendJson(res, 200, { pong: true }) },
  {
    path: /^\/v1\/rooms\/(?<room>[^/]+)\/members\/(?<id>[^/]+)$/,
    methods: ['DELETE'],
    handle: (_req, res, { params }) => sendJson(res, 200, { kicked: params }),
  },
  {
    path: '/v1/boom',
    handle: () => {
      throw new Error('boom');
    },
  },
];

describe('HTTP route table', () => {
  let server: Server | undefined;
  afterEach(async () => {
    const s = server;
    server = undefined;
    if (s !== undefined) await within(new Promise<void>((resolve) => s.close(() => resolve())), 2000, 'the HTTP server to close');
  });

  async function serve(): Promise<string> {
    const s = createServer();
    server = s;
    const base = (): URL => new URL(`http://127.0.0.1:${(s.address() as AddressInfo).port}`);
    s.on('request', createRequestHandler({ routes, logger: pino({ enabled: false }), baseUrl: base, wsPath: '/ws' }));
    await within(new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve)), 2000, 'listen');
    return base().href.replace(/\/$/, '');
  }

  const call = async (url: string, method = 'GET'): Promise<{ status: number; allow: string | null; body: string }> => {
    const r = await within(fetch(url, { method }), 3000, `${method} ${url}`);
    return { status: r.status, allow: r.headers.get('allow'), body: await r.text() };
  };

  it('passes named groups of a RegExp path as params, for the route\'s own method', async () => {
    const base = await serve();
    const r = await call(`${base}/v1/rooms/team%3A42/members/abc`, 'DELETE');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ kicked: { room: 'team%3A42', id: 'abc' } });
  });

  it('answers 405 with allow for a path a route serves asked with another method; HEAD where GET', async () => {
    const base = await serve();
    const get = await call(`${base}/v1/rooms/r/members/m`);
    expect(get.status).toBe(405);
    expect(get.allow).toBe('DELETE');
    expect(JSON.parse(get.body)).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
    const post = await call(`${base}/v1/ping`, 'POST');
    expect(post.status).toBe(405);
    expect(post.allow).toBe('GET, HEAD');
    const head = await call(`${base}/v1/ping`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('keeps the fallbacks for paths no route serves: 426 on the WebSocket path, 404, 405 GET/HEAD', async () => {
    const base = await serve();
    const ws = await call(`${base}/ws`);
    expect(ws.status).toBe(426);
    expect(JSON.parse(ws.body)).toMatchObject({ error: { code: 'UPGRADE_REQUIRED' } });
    const missing = await call(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const del = await call(`${base}/nope`, 'DELETE');
    expect(del.status).toBe(405);
    expect(del.allow).toBe('GET, HEAD');
  });

  it('turns a route that throws into 500 INTERNAL and keeps serving', async () => {
    const base = await serve();
    const boom = await call(`${base}/v1/boom`);
    expect(boom.status).toBe(500);
    expect(JSON.parse(boom.body)).toMatchObject({ error: { code: 'INTERNAL' } });
    expect((await call(`${base}/v1/ping`)).status).toBe(200);
  });
});
