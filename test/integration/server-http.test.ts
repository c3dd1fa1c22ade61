/**
 * The HTTP side and access control: /healthz, /readyz, /metrics, /v1/ice-servers (TURN REST
 * credentials), refused upgrades (401/403/404), principal grants (room, capacity, receive-only, sub).
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator, Principal } from '../../src/auth/principal.js';
import { SigctlError } from '../../src/protocol/errors.js';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';
import { SwitchableStore } from '../helpers/server-store.js';

/** An authenticator keyed by `?token=`: a real implementation of the interface, not a mock of ws. */
function tableAuth(table: Record<string, Principal>): Authenticator {
  return {
    required: true,
    authenticate(_req: IncomingMessage, url: URL): Promise<Principal> {
      const token = url.searchParams.get('token');
      if (token === null) return Promise.reject(new SigctlError('UNAUTHORIZED', 'missing token'));
      if (token === 'banned') return Promise.reject(new SigctlError('FORBIDDEN', 'banned'));
      const p = table[token];
      return p === undefined ? Promise.reject(new SigctlError('UNAUTHORIZED', 'bad signature')) : Promise.resolve(p);
    },
  };
}

const get = async (url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string | null }> => {
  const r = await within(fetch(url, { headers }), 3000, `GET ${url}`);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
};

describe('server HTTP endpoints and access control', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('serves /healthz, /readyz, 404 for unknown paths and for upgrades off the ws path', async () => {
    const s = res.server(await startTestServer());
    expect(await get(`${s.httpUrl}/healthz`)).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    const ready = await get(`${s.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', draining: false, store: 'up' });
    const nodes = JSON.parse((await get(`${s.httpUrl}/v1/nodes`)).body) as { nodes: unknown[] };
    expect(nodes.nodes).toEqual([{ id: expect.any(String) as string, connections: 0, rooms: 0, url: s.url, startedAt: expect.any(Number) as number, updatedAt: expect.any(Number) as number }]);
    const missing = await get(`${s.httpUrl}/nope`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    await expect(TestClient.open(`${s.url.replace(/\/ws$/, '/other')}`)).rejects.toThrow(/404/);
  });

  it('honours a custom ws path', async () => {
    const s = res.server(await startTestServer({ path: '/signal/v1' }));
    expect(s.url).toMatch(/\/signal\/v1$/);
    res.client(await TestClient.connect(s.url));
  });

  it('/v1/ice-servers and welcome carry STUN, static TURN and fresh TURN REST credentials', async () => {
    const secret = 'turn-shared-secret';
    const s = res.server(
      await startTestServer({
        ice: {
          stun: ['stun:stun.example.com:3478'],
          turn: [
            { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'], secret, ttlSeconds: 600 },
            { urls: ['turn:static.example.com:3478'], username: 'u', credential: 'p' },
          ],
        },
      }),
    );
    const before = Math.floor(Date.now() / 1000);
    const r = await get(`${s.httpUrl}/v1/ice-servers`);
    expect(r.status).toBe(200);
    const { iceServers } = JSON.parse(r.body) as { iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }> };
    expect(iceServers[0]).toEqual({ urls: 'stun:stun.example.com:3478' });
    expect(iceServers[2]).toEqual({ urls: 'turn:static.example.com:3478', username: 'u', credential: 'p' });
    const rest = iceServers[1]!;
    expect(rest.urls).toEqual(['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349']);
    const [expiry] = rest.username!.split(':');
    expect(Number(expiry) - before).toBeGreaterThanOrEqual(600);
    expect(Number(expiry) - before).toBeLessThanOrEqual(601);
    expect(rest.credential).toBe(createHmac('sha1', secret).update(rest.username!).digest('base64'));

    const c = res.client(await TestClient.open(s.url));
    const welcome = await c.next('welcome');
    expect(welcome.iceServers).toHaveLength(3);
    // The session id names the TURN user, so credentials are per session.
    expect(welcome.iceServers[1]!.username).toMatch(new RegExp(`^\\d+:${welcome.session}$`));
  });

  it('refuses upgrades without a valid token (401) or with a forbidden one (403), with a JSON body', async () => {
    const s = res.server(await startTestServer({}, { authenticator: tableAuth({ good: { canSend: true } }) }));
    const refused = async (query: string): Promise<{ status: number; body: unknown }> =>
      within(
        new Promise((resolve, reject) => {
          void import('ws').then(({ default: WebSocket }) => {
            const ws = new WebSocket(`${s.url}${query}`);
            ws.on('unexpected-response', (_req, r) => {
              let body = '';
              r.on('data', (d: Buffer) => (body += d.toString()));
              r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(body) as unknown }));
            });
            ws.on('open', () => reject(new Error('upgrade accepted')));
            ws.on('error', () => undefined);
          });
        }),
        3000,
        'refused upgrade',
      );
    expect(await refused('')).toEqual({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'missing token' } } });
    expect(await refused('?token=forged')).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(await refused('?token=banned')).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    res.client(await TestClient.connect(`${s.url}?token=good`));
    // /v1/ice-servers needs the token too when auth is required.
    expect((await get(`${s.httpUrl}/v1/ice-servers`)).status).toBe(401);
    expect((await get(`${s.httpUrl}/v1/ice-servers?token=good`)).status).toBe(200);
  });

  it('refuses a disallowed browser origin with 403', async () => {
    const s = res.server(await startTestServer({ origins: ['https://app.example.com'] }));
    await expect(TestClient.open(s.url, { origin: 'https://evil.example.net' })).rejects.toThrow(/403/);
    res.client(await TestClient.connect(s.url, { origin: 'https://app.example.com' }));
    res.client(await TestClient.connect(s.url));
  });

  it('applies the principal: room grant, granted capacity, receive-only, sub as the name', async () => {
    const s = res.server(
      await startTestServer(
        { rooms: { maxCapacity: 8 } },
        {
          authenticator: tableAuth({
            alice: { sub: 'alice', room: 'team-*', capacity: 4, canSend: true },
            viewer: { sub: 'viewer', room: 'team-a', canSend: false },
          }),
        },
      ),
    );
    const a = res.client(await TestClient.connect(`${s.url}?token=alice`));
    a.send({ type: 'join', room: 'other', id: 1 });
    expect(await a.error()).toMatchObject({ code: 'FORBIDDEN', re: 1 });
    a.send({ type: 'join', room: 'team-a', name: 'ignored' });
    const ja = await a.next('joined');
    expect(ja.capacity).toBe(4);
    expect(ja.self.name).toBe('alice');

    const v = res.client(await TestClient.connect(`${s.url}?token=viewer`));
    v.send({ type: 'join', room: 'team-a' });
    await v.next('joined');
    v.send({ type: 'signal', data: {}, id: 2 });
    expect(await v.error()).toMatchObject({ code: 'FORBIDDEN', re: 2 });
    v.send({ type: 'meta', meta: {}, id: 3 });
    expect(await v.error()).toMatchObject({ code: 'FORBIDDEN', re: 3 });
    // Receive-only members still receive.
    a.send({ type: 'signal', data: 'hi' });
    expect((await v.next('signal')).data).toBe('hi');
  });

  it('while the store is down: /readyz 503, /healthz 200, joins UNAVAILABLE, local relay continues', async () => {
    const store = new SwitchableStore();
    const s = res.server(await startTestServer({}, { store }));
    const a = res.client(await TestClient.connect(s.url));
    const b = res.client(await TestClient.connect(s.url));
    a.send({ type: 'join', room: 'up' });
    await a.next('joined');
    b.send({ type: 'join', room: 'up' });
    await b.next('joined');
    store.setHealthy(false);
    const ready = await get(`${s.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ status: 'unavailable', draining: false, store: 'down' });
    expect((await get(`${s.httpUrl}/healthz`)).status).toBe(200);
    const c = res.client(await TestClient.connect(s.url));
    c.send({ type: 'join', room: 'other', id: 1 });
    expect(await c.error()).toMatchObject({ code: 'UNAVAILABLE', re: 1 });
    a.send({ type: 'meta', meta: { x: 1 }, id: 2 });
    expect(await a.error()).toMatchObject({ code: 'UNAVAILABLE', re: 2 });
    // Members already connected keep relaying locally.
    a.send({ type: 'signal', data: 'still here' });
    expect((await b.next('signal')).data).toBe('still here');
    store.setHealthy(true);
    expect((await get(`${s.httpUrl}/readyz`)).status).toBe(200);
    c.send({ type: 'join', room: 'other' });
    await c.next('joined');
  });
});
