import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import { startJwksServer, type JwksServer } from '../helpers/auth-jwks.js';
import { keyPair, requestWith, signToken, urlWith } from '../helpers/auth-tokens.js';

let jwks: JwksServer | undefined;
afterEach(async () => {
  await jwks?.close();
  jwks = undefined;
});

describe('JWKS verification over a local HTTP server', () => {
  it('verifies RS256, ES256 and EdDSA tokens by kid and refuses unknown keys', async () => {
    const pairs = await Promise.all([keyPair('RS256', 'k-rs'), keyPair('ES256', 'k-es'), keyPair('EdDSA', 'k-ed')]);
    jwks = await startJwksServer(pairs.map((p) => p.jwk));
    const auth = createAuthenticator({ jwt: { jwksUrl: jwks.url, clockToleranceSeconds: 0 } }, { jwksTimeoutMs: 2000 });
    for (const p of pairs) {
      const token = await signToken({ sub: p.alg, room: 'r' }, { alg: p.alg, key: p.privateKey, kid: p.jwk.kid! });
      expect((await auth.authenticate(requestWith({ authorization: `Bearer ${token}` }), urlWith())).sub).toBe(p.alg);
    }
    expect(jwks.fetches).toBe(1);

    const stranger = await keyPair('RS256', 'k-unknown');
    const forged = await signToken({ sub: 'x', room: 'r' }, { alg: 'RS256', key: stranger.privateKey, kid: 'k-unknown' });
    await expect(auth.authenticate(requestWith(), urlWith(forged))).rejects.toMatchObject({ code: 'UNAUTHORIZED', details: { reason: 'bad_signature' } });

    const sameKid = await signToken({ sub: 'x', room: 'r' }, { alg: 'RS256', key: stranger.privateKey, kid: 'k-rs' });
    await expect(auth.authenticate(requestWith(), urlWith(sameKid))).rejects.toMatchObject({ details: { reason: 'bad_signature' } });

    const hs = await signToken({ sub: 'x', room: 'r' });
    await expect(auth.authenticate(requestWith(), urlWith(hs))).rejects.toMatchObject({ details: { reason: 'wrong_algorithm' } });
  });

  it('honours a pinned algorithm list with a JWKS', async () => {
    const [rs, es] = await Promise.all([keyPair('RS256', 'k-rs'), keyPair('ES256', 'k-es')]);
    jwks = await startJwksServer([rs.jwk, es.jwk]);
    const auth = createAuthenticator({ jwt: { jwksUrl: jwks.url, algorithms: ['ES256'], clockToleranceSeconds: 0 } }, { jwksTimeoutMs: 2000 });
    const esToken = await signToken({ sub: 'es', room: 'r' }, { alg: 'ES256', key: es.privateKey, kid: 'k-es' });
    expect((await auth.authenticate(requestWith(), urlWith(esToken))).sub).toBe('es');
    const rsToken = await signToken({ sub: 'rs', room: 'r' }, { alg: 'RS256', key: rs.privateKey, kid: 'k-rs' });
    await expect(auth.authenticate(requestWith(), urlWith(rsToken))).rejects.toMatchObject({ details: { reason: 'wrong_algorithm' } });
  });

  it('picks up a rotated key', async () => {
    const [a, b] = await Promise.all([keyPair('ES256', 'k-a'), keyPair('ES256', 'k-b')]);
    jwks = await startJwksServer([a.jwk]);
    const auth = createAuthenticator({ jwt: { jwksUrl: jwks.url, clockToleranceSeconds: 0 } }, { jwksTimeoutMs: 2000, jwksCooldownMs: 0 });
    expect((await auth.authenticate(requestWith(), urlWith(await signToken({ sub: 'a', room: 'r' }, { alg: 'ES256', key: a.privateKey, kid: 'k-a' }))))).toMatchObject({ sub: 'a' });
    jwks.keys = [a.jwk, b.jwk];
    expect((await auth.authenticate(requestWith(), urlWith(await signToken({ sub: 'b', room: 'r' }, { alg: 'ES256', key: b.privateKey, kid: 'k-b' }))))).toMatchObject({ sub: 'b' });
  });

  it('reports an unreachable JWKS as UNAVAILABLE, not as a bad token', async () => {
    // A port that was free a moment ago: connection refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const es = await keyPair('ES256', 'k');
    const auth = createAuthenticator({ jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks.json`, clockToleranceSeconds: 0 } }, { jwksTimeoutMs: 1000 });
    const token = await signToken({ sub: 'a', room: 'r' }, { alg: 'ES256', key: es.privateKey, kid: 'k' });
    await expect(auth.authenticate(requestWith(), urlWith(token))).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'jwks_unavailable' } });
  });
});
