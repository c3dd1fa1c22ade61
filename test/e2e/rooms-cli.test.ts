/**
 * `sigctl token --admin` and `sigctl rooms` as a user runs them (bin/sigctl spawned) against a real
 * server with auth: list and show with --json and as tables, the ws:// and http:// URL forms,
 * SIGCTL_URL/SIGCTL_TOKEN, and refusals with their codes and exit codes. Kick and close need the
 * hub of issue 12: ops-e2e.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SignalingServer } from '../../src/server/index.js';
import { signToken, TEST_SECRET } from '../helpers/auth-tokens.js';
import { runCli } from '../helpers/cli-run.js';
import { Resources, startTestServer, testConfig, TestClient } from '../helpers/server-harness.js';

const HS = { auth: { jwt: { secret: TEST_SECRET } } } satisfies ConfigInput;
const res = new Resources();
afterEach(async () => {
  await res.closeAll();
});

async function server(): Promise<SignalingServer> {
  return res.server(await startTestServer(HS, { authenticator: createAuthenticator(testConfig(HS).auth) }));
}

async function join(s: SignalingServer, room: string, sub: string, meta: Record<string, unknown> = {}): Promise<string> {
  const c = res.client(await TestClient.connect(`${s.url}?token=${encodeURIComponent(await signToken({ sub, room: '*' }))}`));
  c.send({ type: 'join', room, meta });
  return (await c.next('joined')).self.id;
}

/** An admin token minted by the CLI itself. */
async function adminToken(): Promise<string> {
  const r = await runCli(['token', '--admin', '--sub', 'ops', '--ttl', '5m', '--json'], { cleanEnv: true, env: { SIGCTL_AUTH_JWT_SECRET: TEST_SECRET } });
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout) as { token: string; claims: Record<string, unknown> };
  expect(doc.claims).toMatchObject({ sub: 'ops', admin: true });
  expect(doc.claims.room).toBeUndefined();
  return doc.token;
}

describe('sigctl rooms', () => {
  it('lists and shows rooms with --json, from the ws:// or the http:// URL', async () => {
    const s = await server();
    const token = await adminToken();
    const a = await join(s, 'demo', 'alice', { role: 'host' });
    await join(s, 'other', 'bob');
    const list = await runCli(['rooms', 'list', '--url', s.url, '--token', token, '--json'], { cleanEnv: true });
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const doc = JSON.parse(list.stdout) as { rooms: Array<{ id: string; members: number; capacity: number; ageMs: number }> };
    expect(doc.rooms.map((r) => [r.id, r.members, r.capacity])).toEqual([
      ['demo', 1, 2],
      ['other', 1, 2],
    ]);
    const show = await runCli(['rooms', 'show', 'demo', '--json'], { cleanEnv: true, env: { SIGCTL_URL: s.httpUrl, SIGCTL_TOKEN: token } });
    expect(show.code).toBe(0);
    const detail = JSON.parse(show.stdout) as { room: { id: string }; members: Array<{ id: string; name: string; meta: unknown; joinedAt: number }> };
    expect(detail.room.id).toBe('demo');
    expect(detail.members.map((m) => [m.id, m.name, m.meta])).toEqual([[a, 'alice', { role: 'host' }]]);
  });

  it('prints tables without --json', async () => {
    const s = await server();
    const token = await adminToken();
    const a = await join(s, 'demo', 'alice');
    const list = await runCli(['rooms', 'list', '--url', s.url, '--token', token], { cleanEnv: true });
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ROOM\s+MEMBERS\s+CAPACITY\s+AGE$/);
    expect(list.stdout).toMatch(/^demo\s+1\s+2\s+\d+s$/m);
    const show = await runCli(['rooms', 'show', 'demo', '--url', s.url, '--token', token], { cleanEnv: true });
    expect(show.stdout).toMatch(/^room demo: 1\/2 members/);
    expect(show.stdout).toContain(a);
  });

  it('keeps the server refusal code and exit 1; a missing token or URL is USAGE, exit 2', async () => {
    const s = await server();
    const plain = await signToken({ sub: 'alice', room: '*' });
    const forbidden = await runCli(['rooms', 'list', '--url', s.url, '--token', plain, '--json'], { cleanEnv: true });
    expect(forbidden.code).toBe(1);
    expect(JSON.parse(forbidden.stdout)).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    const missing = await runCli(['rooms', 'show', 'nope', '--url', s.url, '--token', await adminToken()], { cleanEnv: true });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
    const noToken = await runCli(['rooms', 'list', '--url', s.url, '--json'], { cleanEnv: true });
    expect(noToken.code).toBe(2);
    expect(JSON.parse(noToken.stdout)).toMatchObject({ code: 'USAGE' });
    const noUrl = await runCli(['rooms', 'list', '--token', plain], { cleanEnv: true });
    expect(noUrl.code).toBe(2);
  });

  it('says SERVER_UNREACHABLE, exit 1, when nothing listens', async () => {
    const s = await server();
    const url = s.url;
    await s.close();
    const r = await runCli(['rooms', 'list', '--url', url, '--token', 'x.y.z', '--json'], { cleanEnv: true });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 'SERVER_UNREACHABLE' });
  });

  it('token needs --room unless --admin (USAGE, exit 2)', async () => {
    const r = await runCli(['token', '--sub', 'alice', '--json'], { cleanEnv: true, env: { SIGCTL_AUTH_JWT_SECRET: TEST_SECRET } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/--room is required/) as unknown });
  });

  it('explains itself in --help', async () => {
    const r = await runCli(['rooms', '--help'], { cleanEnv: true });
    expect(r.code).toBe(0);
    for (const word of ['list', 'show', 'kick', 'close', 'SIGCTL_TOKEN', 'sigctl token --admin']) expect(r.stdout).toContain(word);
  });
});
