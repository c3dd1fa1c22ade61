/**
 * The admin API through real servers: 401 without a valid token, 403 for a token without the
 * admin grant or a server without auth, 200 with it; the room list (paginated), a room's members
 * with name, meta, node and join time, on one node (memory store) and across two nodes sharing a
 * real redis-server. Kicks and closes need the hub of issue 12: ops-e2e.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SignalingServer } from '../../src/server/index.js';
import { signToken, TEST_SECRET } from '../helpers/auth-tokens.js';
import { redisForSuite } from '../helpers/redis-server.js';
import { RedisNodes } from '../helpers/redis-nodes.js';
import { requires } from '../helpers/requires.js';
import { Resources, startTestServer, testConfig, TestClient, within } from '../helpers/server-harness.js';

const HS = { auth: { jwt: { secret: TEST_SECRET } } } satisfies ConfigInput;
const res = new Resources();
afterEach(async () => {
  await res.closeAll();
});

async function authServer(): Promise<SignalingServer> {
  return res.server(await startTestServer(HS, { authenticator: createAuthenticator(testConfig(HS).auth) }));
}

async function api(s: SignalingServer, path: string, token?: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await within(fetch(`${s.httpUrl}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }), 3000, `${method} ${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function member(s: SignalingServer, room: string, sub: string, meta?: Record<string, unknown>): Promise<string> {
  const token = await signToken({ sub, room: '*' });
  const c = res.client(await TestClient.connect(`${s.url}?token=${encodeURIComponent(token)}`));
  c.send({ type: 'join', room, ...(meta === undefined ? {} : { meta }), capacity: 4 });
  const joined = await c.next('joined');
  return joined.self.id;
}

const admin = (): Promise<string> => signToken({ sub: 'ops', admin: true });

describe('admin API authorisation', () => {
  it('answers 401 UNAUTHORIZED without a token or with a bad one, 403 FORBIDDEN without the grant, 200 with it', async () => {
    const s = await authServer();
    const none = await api(s, '/v1/rooms');
    expect(none).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const bad = await api(s, '/v1/rooms', 'not.a.jwt');
    expect(bad).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const plain = await api(s, '/v1/rooms', await signToken({ sub: 'alice', room: '*' }));
    expect(plain).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/admin grant/) as unknown } } });
    const notTrue = await api(s, '/v1/rooms', await signToken({ sub: 'alice', admin: 'yes' }));
    expect(notTrue.status).toBe(401);
    for (const path of ['/v1/rooms/x', '/v1/rooms/x/members/y']) {
      expect((await api(s, path, await signToken({ sub: 'alice' }), path.includes('members') ? 'DELETE' : 'GET')).status).toBe(403);
    }
    expect(await api(s, '/v1/rooms', await admin())).toEqual({ status: 200, body: { rooms: [] } });
  });

  it('refuses the whole API with 403 on a server without auth (nobody can hold the grant)', async () => {
    const s = res.server(await startTestServer());
    const r = await api(s, '/v1/rooms', await admin());
    expect(r).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/auth\.jwt/) as unknown } } });
  });

  it('answers 405 with allow for a method a path does not take, and 404 for a room id that cannot exist', async () => {
    const s = await authServer();
    const r = await fetch(`${s.httpUrl}/v1/rooms`, { method: 'POST', headers: { authorization: `Bearer ${await admin()}` } });
    expect(r.status).toBe(405);
    // GET (with HEAD when the route table adds it), never POST.
    expect(r.headers.get('allow')?.split(/,\s*/)).toContain('GET');
    expect(r.headers.get('allow')).not.toMatch(/POST/);
    expect(await api(s, '/v1/rooms/no%20spaces', await admin())).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await api(s, '/v1/rooms/absent', await admin())).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});

describe('admin API on one node', () => {
  it('lists rooms with members, capacity and age, and shows members with name, meta, node and join time', async () => {
    const s = await authServer();
    const before = Date.now();
    const a = await member(s, 'alpha', 'alice', { role: 'host' });
    const b = await member(s, 'alpha', 'bob');
    await member(s, 'beta', 'carol');
    const list = await api(s, '/v1/rooms', await admin());
    expect(list.status).toBe(200);
    expect(list.body.rooms).toEqual([
      { id: 'alpha', members: 2, capacity: 4, createdAt: expect.any(Number) as unknown, ageMs: expect.any(Number) as unknown },
      { id: 'beta', members: 1, capacity: 4, createdAt: expect.any(Number) as unknown, ageMs: expect.any(Number) as unknown },
    ]);
    const show = await api(s, '/v1/rooms/alpha', await admin());
    expect(show.status).toBe(200);
    const members = show.body.members as Array<{ id: string; name: string; meta: unknown; node: string; joinedAt: number }>;
    expect(members.map((m) => [m.id, m.name, m.meta])).toEqual([
      [a, 'alice', { role: 'host' }],
      [b, 'bob', {}],
    ]);
    for (const m of members) {
      expect(typeof m.node).toBe('string');
      expect(m.joinedAt).toBeGreaterThanOrEqual(before);
    }
    expect(show.body.room).toMatchObject({ id: 'alpha', members: 2, capacity: 4 });
  });

  it('pages with ?limit= and the cursor it returns, and refuses a bad limit or cursor with 400 BAD_MESSAGE', async () => {
    const s = await authServer();
    for (const room of ['r1', 'r2', 'r3', 'r4', 'r5']) await member(s, room, `u-${room}`);
    const token = await admin();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await api(s, `/v1/rooms?limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`, token);
      expect(page.status).toBe(200);
      seen.push(...(page.body.rooms as Array<{ id: string }>).map((r) => r.id));
      cursor = page.body.next as string | undefined;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(pages).toBe(3);
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'cursor=%2F%2F']) {
      expect(await api(s, `/v1/rooms?${q}`, token), q).toMatchObject({ status: 400, body: { error: { code: 'BAD_MESSAGE' } } });
    }
  });
});

describe('admin API across two nodes (Redis store)', requires('redis-server'), () => {
  const redis = redisForSuite();
  const cluster = new RedisNodes(res, 'adm', () => ({ url: redis.url }));
  afterEach(() => cluster.closeAll());

  const nodes = async (): Promise<[SignalingServer, SignalingServer]> => {
    const [a, b] = await cluster.start(['node-a', 'node-b'], { overrides: HS, deps: () => ({ authenticator: createAuthenticator(testConfig(HS).auth) }) });
    return [a!, b!];
  };

  it('lists the rooms of both nodes from either node, and shows which node holds each member', async () => {
    const [a, b] = await nodes();
    const before = Date.now();
    const onA = await member(a, 'shared', 'alice', { side: 'a' });
    const onB = await member(b, 'shared', 'bob');
    await member(b, 'only-b', 'carol');
    const token = await admin();
    for (const s of [a, b]) {
      const list = await api(s, '/v1/rooms', token);
      expect((list.body.rooms as Array<{ id: string; members: number; capacity: number }>).map((r) => [r.id, r.members, r.capacity])).toEqual([
        ['only-b', 1, 4],
        ['shared', 2, 4],
      ]);
      const show = await api(s, '/v1/rooms/shared', token);
      const members = show.body.members as Array<{ id: string; name: string; meta: unknown; node: string; joinedAt: number }>;
      expect(members.map((m) => [m.id, m.name, m.meta, m.node])).toEqual([
        [onA, 'alice', { side: 'a' }, 'node-a'],
        [onB, 'bob', {}, 'node-b'],
      ]);
      expect(members.every((m) => m.joinedAt >= before)).toBe(true);
      expect((show.body.room as { ageMs: number }).ageMs).toBeGreaterThanOrEqual(0);
    }
    const paged = await api(a, '/v1/rooms?limit=1', token);
    expect((paged.body.rooms as Array<{ id: string }>).map((r) => r.id)).toEqual(['only-b']);
    const rest = await api(b, `/v1/rooms?limit=1&cursor=${paged.body.next as string}`, token);
    expect((rest.body.rooms as Array<{ id: string }>).map((r) => r.id)).toEqual(['shared']);
    expect(rest.body.next).toBeUndefined();
  });

  it('forgets a room once its last member left, and a room made again gets a new age', async () => {
    const [a, b] = await nodes();
    const token = await admin();
    const c = res.client(await TestClient.connect(`${a.url}?token=${encodeURIComponent(await signToken({ sub: 'x', room: '*' }))}`));
    c.send({ type: 'join', room: 'brief' });
    await c.next('joined');
    const first = (await api(b, '/v1/rooms/brief', token)).body.room as { createdAt: number };
    c.send({ type: 'leave' });
    await c.next('left');
    expect((await api(b, '/v1/rooms', token)).body.rooms).toEqual([]);
    expect((await api(b, '/v1/rooms/brief', token)).status).toBe(404);
    await member(b, 'brief', 'y');
    const again = (await api(a, '/v1/rooms/brief', token)).body.room as { createdAt: number };
    expect(again.createdAt).toBeGreaterThanOrEqual(first.createdAt);
  });
});
