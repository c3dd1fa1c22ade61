/**
 * Access control through the real server: tokens checked in the HTTP upgrade (401 + JSON reason),
 * room grants on join (FORBIDDEN), receive-only grants, JWKS over a local HTTP server, the
 * ice-servers endpoint, and the browser-origin allowlist (403).
 */
import { createSecretKey } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator, createOriginCheck, type AuthenticatorDeps } from '../../src/auth/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SignalingServer } from '../../src/server/index.js';
import { refusedUpgrade, getJson } from '../helpers/auth-http.js';
import { startJwksServer, type JwksServer } from '../helpers/auth-jwks.js';
import { keyPair, signToken, TEST_SECRET, unsignedToken } from '../helpers/auth-tokens.js';
import { Resources, startTestServer, testConfig, TestClient } from '../helpers/server-harness.js';

const res = new Resources();
let jwks: JwksServer | undefined;
afterEach(async () => {
  await res.closeAll();
  await jwks?.close();
  jwks = undefined;
});

/** A server whose authenticator and origin check come from `overrides` the way `serve` builds them. */
async function authServer(overrides: ConfigInput, authDeps: AuthenticatorDeps = {}): Promise<SignalingServer> {
  const config = testConfig(overrides);
  return res.server(await startTestServer(overrides, { authenticator: createAuthenticator(config.auth, authDeps), checkOrigin: createOriginCheck(config.origins) }));
}

const HS = { auth: { jwt: { secret: TEST_SECRET, clockToleranceSeconds: 0 } } } satisfies ConfigInput;

async function connect(s: SignalingServer, token: string): Promise<TestClient> {
  return res.client(await TestClient.connect(`${s.url}?token=${encodeURIComponent(token)}`));
}

describe('tokens in the upgrade', () => {
  it('refuses a missing token with 401 and a JSON body naming the reason', async () => {
    const s = await authServer(HS);
    const r = await refusedUpgrade(s.url);
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/^missing token/) as unknown });
  });

  it('refuses a bad signature, a wrong algorithm, alg none, an expired token and garbage', async () => {
    const s = await authServer(HS);
    const wrongKey = await signToken({ sub: 'a', room: 'r' }, { key: createSecretKey(Buffer.from('some-other-secret-0123456789')) });
    const rs = await keyPair('RS256');
    const cases: Array<[string, RegExp]> = [
      [wrongKey, /^bad signature/],
      [await signToken({ sub: 'a', room: 'r' }, { alg: 'RS256', key: rs.privateKey }), /^wrong algorithm: RS256/],
      [await signToken({ sub: 'a', room: 'r' }, { alg: 'HS512' }), /^wrong algorithm: HS512/],
      [unsignedToken({ sub: 'a', room: 'r' }), /^wrong algorithm: none/],
      [await signToken({ sub: 'a', room: 'r' }, { nowSeconds: Math.floor(Date.now() / 1000) - 7200 }), /^expired token/],
      ['garbage', /^malformed token/],
    ];
    for (const [token, reason] of cases) {
      const r = await refusedUpgrade(`${s.url}?token=${encodeURIComponent(token)}`);
      expect(r, String(reason)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
      expect(r.body.error?.message).toMatch(reason);
      expect(r.body.error?.message).not.toContain(token.split('.')[2] || token);
    }
  });

  it('accepts Authorization: Bearer as well as ?token=', async () => {
    const s = await authServer(HS);
    const token = await signToken({ sub: 'alice', room: 'r' });
    const c = res.client(await TestClient.connect(s.url, { headers: { authorization: `Bearer ${token}` } }));
    c.send({ type: 'join', room: 'r' });
    expect((await c.next('joined')).self.name).toBe('alice');
  });

  it('checks issuer and audience', async () => {
    const s = await authServer({ auth: { jwt: { secret: TEST_SECRET, issuer: 'https://issuer.test', audience: 'sigctl' } } });
    const wrongIss = await signToken({ sub: 'a', room: 'r', iss: 'https://evil.test', aud: 'sigctl' });
    expect((await refusedUpgrade(`${s.url}?token=${wrongIss}`)).body.error?.message).toMatch(/^wrong issuer/);
    const wrongAud = await signToken({ sub: 'a', room: 'r', iss: 'https://issuer.test', aud: 'other' });
    expect((await refusedUpgrade(`${s.url}?token=${wrongAud}`)).body.error?.message).toMatch(/^wrong audience/);
    await connect(s, await signToken({ sub: 'a', room: 'r', iss: 'https://issuer.test', aud: 'sigctl' }));
  });
});

describe('grants on join and send', () => {
  it('answers FORBIDDEN for another room and lets the granted room in, with sub as the name', async () => {
    const s = await authServer(HS);
    const c = await connect(s, await signToken({ sub: 'alice', room: 'room-1' }));
    c.send({ type: 'join', room: 'room-2', id: 'j1' });
    expect(await c.error()).toMatchObject({ code: 'FORBIDDEN', re: 'j1', message: expect.stringMatching(/grants room "room-1", not "room-2"/) as unknown });
    c.send({ type: 'join', room: 'room-1', name: 'mallory' });
    expect((await c.next('joined')).self.name).toBe('alice');
  });

  it('lets a glob grant join any matching room and nothing else', async () => {
    const s = await authServer(HS);
    const token = await signToken({ sub: 'bob', room: 'team-*' });
    const a = await connect(s, token);
    a.send({ type: 'join', room: 'team-42' });
    expect((await a.next('joined')).room).toBe('team-42');
    const b = await connect(s, token);
    b.send({ type: 'join', room: 'teams', id: 2 });
    expect(await b.error()).toMatchObject({ code: 'FORBIDDEN', re: 2 });
    b.send({ type: 'join', room: 'team-' });
    expect((await b.next('joined')).room).toBe('team-');
  });

  it('lets a receive-only member receive but not send signals or metadata', async () => {
    const s = await authServer(HS);
    const viewer = await connect(s, await signToken({ sub: 'viewer', room: 'live', receiveOnly: true }));
    const host = await connect(s, await signToken({ sub: 'host', room: 'live' }));
    viewer.send({ type: 'join', room: 'live' });
    const vj = await viewer.next('joined');
    host.send({ type: 'join', room: 'live' });
    await host.next('joined');
    viewer.send({ type: 'signal', data: { sdp: 'x' }, id: 's1' });
    expect(await viewer.error()).toMatchObject({ code: 'FORBIDDEN', re: 's1' });
    viewer.send({ type: 'meta', meta: { video: true }, id: 'm1' });
    expect(await viewer.error()).toMatchObject({ code: 'FORBIDDEN', re: 'm1' });
    host.send({ type: 'signal', to: vj.self.id, data: { hello: 1 } });
    expect((await viewer.next('signal')).data).toEqual({ hello: 1 });
    expect(await host.none('signal')).toBe(true);
  });

  it('applies the capacity claim to the room its holder creates', async () => {
    const s = await authServer({ ...HS, rooms: { capacity: 2, maxCapacity: 8 } });
    const c = await connect(s, await signToken({ sub: 'a', room: 'mesh', capacity: 3 }));
    c.send({ type: 'join', room: 'mesh' });
    expect((await c.next('joined')).capacity).toBe(3);
  });

  it('keeps a session whose token expires; a resume after expiry needs a fresh token', async () => {
    let offsetMs = 0;
    const s = await authServer({ ...HS, rooms: { resumeGraceMs: 10_000 } }, { now: () => Date.now() + offsetMs });
    const short = await signToken({ sub: 'alice', room: 'r' }, { expiresIn: 60 });
    const alice = await connect(s, short);
    alice.send({ type: 'join', room: 'r' });
    const joined = await alice.next('joined');
    const bob = await connect(s, await signToken({ sub: 'bob', room: 'r' }, { expiresIn: 3600 }));
    bob.send({ type: 'join', room: 'r' });
    await bob.next('joined');

    offsetMs = 120_000; // alice's token is now expired
    bob.send({ type: 'signal', to: joined.self.id, data: { still: 'here' } });
    expect((await alice.next('signal')).data).toEqual({ still: 'here' });

    alice.drop();
    expect((await refusedUpgrade(`${s.url}?token=${short}`)).body.error?.message).toMatch(/^expired token/);
    const fresh = await connect(s, await signToken({ sub: 'alice', room: 'r' }, { nowSeconds: Math.floor((Date.now() + offsetMs) / 1000) }));
    fresh.send({ type: 'join', room: 'r', resume: joined.resumeToken });
    const resumed = await fresh.next('joined');
    expect(resumed.self.id).toBe(joined.self.id);
  });
});

describe('JWKS', () => {
  it('verifies tokens against a JWKS served over HTTP', async () => {
    const [es, ed] = await Promise.all([keyPair('ES256', 'k-es'), keyPair('EdDSA', 'k-ed')]);
    jwks = await startJwksServer([es.jwk, ed.jwk]);
    const s = await authServer({ auth: { jwt: { jwksUrl: jwks.url, clockToleranceSeconds: 0 } } }, { jwksTimeoutMs: 2000 });
    for (const k of [es, ed]) {
      const c = await connect(s, await signToken({ sub: k.alg, room: 'r' }, { alg: k.alg, key: k.privateKey, kid: k.jwk.kid! }));
      c.send({ type: 'join', room: 'r' });
      expect((await c.next('joined')).self.name).toBe(k.alg);
    }
    const stranger = await keyPair('ES256', 'k-es');
    const forged = await signToken({ sub: 'x', room: 'r' }, { alg: 'ES256', key: stranger.privateKey, kid: 'k-es' });
    expect(await refusedUpgrade(`${s.url}?token=${forged}`)).toMatchObject({ status: 401, body: { error: { message: expect.stringMatching(/^bad signature/) as unknown } } });
    const hs = await signToken({ sub: 'x', room: 'r' });
    expect((await refusedUpgrade(`${s.url}?token=${hs}`)).body.error?.message).toMatch(/^wrong algorithm: HS256/);
  });
});

describe('GET /v1/ice-servers', () => {
  it('requires the same token and names the TURN user after the token subject', async () => {
    const s = await authServer({ ...HS, ice: { stun: ['stun:stun.example.com:3478'], turn: [{ urls: ['turn:127.0.0.1:3478'], secret: 'turn-secret' }] } });
    const none = await getJson(`${s.httpUrl}/v1/ice-servers`);
    expect(none).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: expect.stringMatching(/^missing token/) as unknown } } });
    const expired = await signToken({ sub: 'a', room: 'r' }, { nowSeconds: Math.floor(Date.now() / 1000) - 7200 });
    expect((await getJson(`${s.httpUrl}/v1/ice-servers?token=${expired}`)).status).toBe(401);
    const token = await signToken({ sub: 'alice', room: 'r' });
    const ok = await getJson(`${s.httpUrl}/v1/ice-servers`, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    const servers = (ok.body as { iceServers: Array<{ urls: string; username?: string }> }).iceServers;
    expect(servers.find((x) => x.urls === 'turn:127.0.0.1:3478')?.username).toMatch(/^\d+:alice$/);
  });
});

describe('origins', () => {
  it('refuses a disallowed browser origin with 403 and allows listed ones and non-browsers', async () => {
    const s = await authServer({ ...HS, origins: ['https://app.example.com', '*.example.org'] });
    const token = await signToken({ sub: 'a', room: 'r' });
    const denied = await refusedUpgrade(`${s.url}?token=${token}`, { origin: 'https://evil.example.net' });
    expect(denied).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/origin/) as unknown } } });
    expect((await refusedUpgrade(`${s.url}?token=${token}`, { origin: 'https://example.org' })).status).toBe(403);
    res.client(await TestClient.connect(`${s.url}?token=${token}`, { origin: 'https://app.example.com' }));
    res.client(await TestClient.connect(`${s.url}?token=${token}`, { origin: 'https://meet.example.org' }));
    res.client(await TestClient.connect(`${s.url}?token=${token}`));
  });

  it('checks the origin before the token, so a foreign page learns nothing about tokens', async () => {
    const s = await authServer({ ...HS, origins: ['https://app.example.com'] });
    expect((await refusedUpgrade(s.url, { origin: 'https://evil.example.net' })).status).toBe(403);
    expect((await refusedUpgrade(s.url, { origin: 'https://app.example.com' })).status).toBe(401);
  });
});

describe('an unreachable key source', () => {
  it('answers 503 UNAVAILABLE (try again), not 401 or 500, when the JWKS cannot be fetched', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = await authServer({ auth: { jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks.json` } } }, { jwksTimeoutMs: 1000 });
    const es = await keyPair('ES256', 'k');
    const token = await signToken({ sub: 'a', room: 'r' }, { alg: 'ES256', key: es.privateKey, kid: 'k' });
    const r = await refusedUpgrade(`${s.url}?token=${encodeURIComponent(token)}`);
    expect(r).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
  });
});
