/**
 * Auth at the edge, through the real server: tokens stay out of logs however the query spells
 * their name, `iat` in the future is refused as docs/security.md says, an oversized token gets a
 * JSON error body, and a resume token only resumes for the identity it was issued to.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createServerLogger, type SignalingServer } from '../../src/server/index.js';
import { refusedUpgrade } from '../helpers/auth-http.js';
import { signToken, TEST_SECRET } from '../helpers/auth-tokens.js';
import { Resources, startTestServer, testConfig, TestClient } from '../helpers/server-harness.js';

const res = new Resources();
afterEach(() => res.closeAll());

const HS = { auth: { jwt: { secret: TEST_SECRET, clockToleranceSeconds: 5 } } } satisfies ConfigInput;

/** A JWT-protected server whose log lines are collected as text. */
async function authServer(overrides: ConfigInput = {}): Promise<{ s: SignalingServer; log: () => string }> {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const config = testConfig({ ...HS, ...overrides });
  const s = res.server(await startTestServer({ ...HS, ...overrides }, { authenticator: createAuthenticator(config.auth), logger: createServerLogger('debug', sink) }));
  return { s, log: () => text };
}

const connect = async (s: SignalingServer, token: string): Promise<TestClient> => res.client(await TestClient.connect(`${s.url}?token=${encodeURIComponent(token)}`));

describe('token redaction', () => {
  it('never logs a refused token, whatever percent-encoding spells the parameter name', async () => {
    const { s, log } = await authServer();
    const secret = 'SECRETVALUE0123456789';
    for (const name of ['token', 'tok%65n', 'TOKEN', '%74%6F%6B%65%6E', 'access%5Ftoken', 'jwt']) {
      const r = await refusedUpgrade(`${s.url}?x=1&${name}=${secret}`);
      expect(r.status, name).toBe(401);
    }
    const valid = await signToken({ sub: 'a' });
    res.client(await TestClient.connect(`${s.url}?tok%65n=${valid}`));
    expect(log()).toContain('"event":"refused"');
    expect(log()).not.toContain(secret);
    expect(log()).not.toContain(valid.split('.')[2]!);
  });
});

describe('iat', () => {
  it('refuses a token issued an hour in the future, accepts one within the clock tolerance', async () => {
    const { s } = await authServer();
    const now = Math.floor(Date.now() / 1000);
    const future = await signToken({ sub: 'a' }, { nowSeconds: now + 3600 });
    const r = await refusedUpgrade(`${s.url}?token=${future}`);
    expect(r).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(r.body.error?.message).toMatch(/^token not yet valid/);
    await connect(s, await signToken({ sub: 'a' }, { nowSeconds: now + 2 }));
  });
});

describe('oversized tokens', () => {
  it('answers a 100 KB token (query or header) with a JSON error body and a catalogue code', async () => {
    const { s } = await authServer();
    const huge = 'a'.repeat(100 * 1024);
    const viaQuery = await refusedUpgrade(`${s.url}?token=${huge}`);
    expect(viaQuery).toMatchObject({ status: 431, body: { error: { code: 'TOO_LARGE' } } });
    const viaHeader = await refusedUpgrade(s.url, { headers: { authorization: `Bearer ${huge}` } });
    expect(viaHeader).toMatchObject({ status: 431, body: { error: { code: 'TOO_LARGE' } } });
    // Still serving.
    await connect(s, await signToken({ sub: 'a' }));
  });
});

describe('resume is bound to the token subject', () => {
  it("refuses mallory's resume of alice's reserved member with FORBIDDEN; alice still resumes", async () => {
    const { s } = await authServer({ rooms: { resumeGraceMs: 30_000 } });
    const alice = await connect(s, await signToken({ sub: 'alice', room: 'r' }));
    alice.send({ type: 'join', room: 'r' });
    const joined = await alice.next('joined');
    const bob = await connect(s, await signToken({ sub: 'bob', room: 'r' }));
    bob.send({ type: 'join', room: 'r' });
    await bob.next('joined');
    alice.drop();

    const mallory = await connect(s, await signToken({ sub: 'mallory', room: 'r' }));
    mallory.send({ type: 'join', id: 'm', room: 'r', resume: joined.resumeToken });
    expect(await mallory.error()).toMatchObject({ code: 'FORBIDDEN', re: 'm', message: expect.stringContaining('resume') as string });
    expect(mallory.frames.filter((f) => f.type === 'joined')).toEqual([]);

    const back = await connect(s, await signToken({ sub: 'alice', room: 'r' }));
    back.send({ type: 'join', room: 'r', resume: joined.resumeToken });
    const resumed = await back.next('joined');
    expect(resumed).toMatchObject({ resumed: true, self: { id: joined.self.id, name: 'alice' } });
  });

  it("refuses mallory's resume of alice's live member without superseding alice", async () => {
    const { s } = await authServer();
    const alice = await connect(s, await signToken({ sub: 'alice', room: 'r' }));
    alice.send({ type: 'join', room: 'r' });
    const joined = await alice.next('joined');
    const mallory = await connect(s, await signToken({ sub: 'mallory' }));
    mallory.send({ type: 'join', id: 1, room: 'r', resume: joined.resumeToken });
    expect(await mallory.error()).toMatchObject({ code: 'FORBIDDEN', re: 1 });
    alice.send({ type: 'ping', id: 'still' });
    expect(await alice.next('pong')).toMatchObject({ re: 'still' });
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  });
});
