import { createSecretKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { authorizeJoin, authorizeSend, createAuthenticator, type Authenticator } from '../../src/auth/index.js';
import { isSigctlError } from '../../src/protocol/errors.js';
import { keyPair, requestWith, signToken, TEST_SECRET, unsignedToken, urlWith } from '../helpers/auth-tokens.js';

type Jwt = NonNullable<ReturnType<typeof ConfigSchema.parse>['auth']['jwt']>;

function hsAuth(extra: Partial<Jwt> = {}, now?: () => number): Authenticator {
  const deps = now === undefined ? {} : { now };
  return createAuthenticator({ jwt: { secret: TEST_SECRET, clockToleranceSeconds: 0, ...extra } }, deps);
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; reason: unknown; message: string }> {
  try {
    await p;
  } catch (err) {
    if (!isSigctlError(err)) throw err;
    return { code: err.code, reason: err.details?.reason, message: err.message };
  }
  throw new Error('expected a refusal');
}

describe('createAuthenticator', () => {
  it('lets everyone in when auth.jwt is absent', async () => {
    const auth = createAuthenticator({});
    expect(auth.required).toBe(false);
    expect(await auth.authenticate(requestWith(), urlWith())).toEqual({ canSend: true });
  });

  it('accepts a valid HS256 token from ?token= and maps its claims', async () => {
    const auth = hsAuth();
    expect(auth.required).toBe(true);
    const token = await signToken({ sub: 'alice', room: 'team-*', capacity: 4 });
    const p = await auth.authenticate(requestWith(), urlWith(token));
    expect(p).toMatchObject({ sub: 'alice', room: 'team-*', capacity: 4, canSend: true });
    expect(typeof p.expiresAt).toBe('number');
  });

  it('accepts Authorization: Bearer and prefers it over ?token=', async () => {
    const auth = hsAuth();
    const good = await signToken({ sub: 'bob', room: 'r1' });
    const p = await auth.authenticate(requestWith({ authorization: `Bearer ${good}` }), urlWith('garbage'));
    expect(p.sub).toBe('bob');
  });

  it('maps receiveOnly: true to canSend false', async () => {
    const p = await hsAuth().authenticate(requestWith(), urlWith(await signToken({ sub: 'v', room: 'r', receiveOnly: true })));
    expect(p.canSend).toBe(false);
    expect(authorizeSend(p, 'signal')).toMatchObject({ allowed: false, code: 'FORBIDDEN', message: expect.stringMatching(/receive-only/) as unknown });
  });

  it('refuses a missing token', async () => {
    expect(await refusal(hsAuth().authenticate(requestWith(), urlWith()))).toMatchObject({ code: 'UNAUTHORIZED', reason: 'missing', message: expect.stringMatching(/^missing token/) as unknown });
    expect(await refusal(hsAuth().authenticate(requestWith(), urlWith('')))).toMatchObject({ reason: 'missing' });
  });

  it('refuses malformed tokens and headers', async () => {
    const auth = hsAuth();
    expect(await refusal(auth.authenticate(requestWith(), urlWith('not-a-jwt')))).toMatchObject({ code: 'UNAUTHORIZED', reason: 'malformed' });
    expect(await refusal(auth.authenticate(requestWith({ authorization: 'Basic Zm9vOmJhcg==' }), urlWith()))).toMatchObject({ reason: 'malformed' });
    expect(await refusal(auth.authenticate(requestWith(), urlWith('a.b.c')))).toMatchObject({ reason: 'malformed' });
  });

  it('refuses a bad signature', async () => {
    const token = await signToken({ sub: 'a', room: 'r' }, { key: createSecretKey(Buffer.from('another-secret-0123456789')) });
    expect(await refusal(hsAuth().authenticate(requestWith(), urlWith(token)))).toMatchObject({ code: 'UNAUTHORIZED', reason: 'bad_signature', message: expect.stringMatching(/^bad signature/) as unknown });
  });

  it('refuses a tampered payload', async () => {
    const token = await signToken({ sub: 'a', room: 'r' });
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'a', room: '*', exp: 9_999_999_999 })).toString('base64url')}.${s}`;
    expect(await refusal(hsAuth().authenticate(requestWith(), urlWith(forged)))).toMatchObject({ reason: 'bad_signature' });
  });

  it('refuses a wrong algorithm, including alg none and HS512 with the right secret', async () => {
    const auth = hsAuth();
    const rs = await keyPair('RS256');
    const rsToken = await signToken({ sub: 'a', room: 'r' }, { alg: 'RS256', key: rs.privateKey });
    expect(await refusal(auth.authenticate(requestWith(), urlWith(rsToken)))).toMatchObject({ reason: 'wrong_algorithm', message: expect.stringMatching(/^wrong algorithm: RS256/) as unknown });
    expect(await refusal(auth.authenticate(requestWith(), urlWith(unsignedToken({ sub: 'a' }))))).toMatchObject({ reason: 'wrong_algorithm' });
    const hs512 = await signToken({ sub: 'a', room: 'r' }, { alg: 'HS512' });
    expect(await refusal(auth.authenticate(requestWith(), urlWith(hs512)))).toMatchObject({ reason: 'wrong_algorithm' });
  });

  it('refuses the RS256 public key used as an HS256 secret (key confusion)', async () => {
    const rs = await keyPair('RS256');
    const auth = createAuthenticator({ jwt: { publicKey: rs.publicPem, clockToleranceSeconds: 0 } });
    const confused = await signToken({ sub: 'a', room: 'r' }, { alg: 'HS256', key: createSecretKey(Buffer.from(rs.publicPem)) });
    expect(await refusal(auth.authenticate(requestWith(), urlWith(confused)))).toMatchObject({ reason: 'wrong_algorithm' });
  });

  it('refuses an expired token, honouring the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken({ sub: 'a', room: 'r' }, { nowSeconds: now - 100, expiresIn: 90 });
    expect(await refusal(hsAuth().authenticate(requestWith(), urlWith(token)))).toMatchObject({ code: 'UNAUTHORIZED', reason: 'expired', message: expect.stringMatching(/^expired token/) as unknown });
    const tolerant = hsAuth({ clockToleranceSeconds: 30 });
    expect((await tolerant.authenticate(requestWith(), urlWith(token))).sub).toBe('a');
  });

  it('uses the injected clock', async () => {
    const token = await signToken({ sub: 'a', room: 'r' }, { expiresIn: 60 });
    const later = hsAuth({}, () => Date.now() + 120_000);
    expect(await refusal(later.authenticate(requestWith(), urlWith(token)))).toMatchObject({ reason: 'expired' });
  });

  it('refuses tokens without exp', async () => {
    const token = await signToken({ sub: 'a', room: 'r' }, { expiresIn: null });
    expect(await refusal(hsAuth().authenticate(requestWith(), urlWith(token)))).toMatchObject({ reason: 'malformed', message: expect.stringMatching(/exp/) as unknown });
  });

  it('refuses a token that is not yet valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken({ sub: 'a', room: 'r', nbf: now + 600 });
    expect(await refusal(hsAuth().authenticate(requestWith(), urlWith(token)))).toMatchObject({ reason: 'not_yet_valid' });
  });

  it('checks issuer and audience', async () => {
    const auth = hsAuth({ issuer: 'https://issuer.test', audience: 'sigctl' });
    const good = await signToken({ sub: 'a', room: 'r', iss: 'https://issuer.test', aud: 'sigctl' });
    expect((await auth.authenticate(requestWith(), urlWith(good))).sub).toBe('a');
    const badIss = await signToken({ sub: 'a', room: 'r', iss: 'https://evil.test', aud: 'sigctl' });
    expect(await refusal(auth.authenticate(requestWith(), urlWith(badIss)))).toMatchObject({ reason: 'wrong_issuer', message: expect.stringMatching(/^wrong issuer/) as unknown });
    const badAud = await signToken({ sub: 'a', room: 'r', iss: 'https://issuer.test', aud: 'other' });
    expect(await refusal(auth.authenticate(requestWith(), urlWith(badAud)))).toMatchObject({ reason: 'wrong_audience' });
  });

  it('refuses claims of the wrong type', async () => {
    const auth = hsAuth();
    for (const claims of [{ room: 'bad room!' }, { room: 'r', capacity: -1 }, { room: 'r', receiveOnly: 'yes' }, { sub: 42 }]) {
      const token = await signToken(claims);
      expect(await refusal(auth.authenticate(requestWith(), urlWith(token)))).toMatchObject({ reason: 'malformed', message: expect.stringMatching(/^malformed token: claim/) as unknown });
    }
  });

  it('never puts the token in an error message', async () => {
    const token = await signToken({ sub: 'a', room: 'r' }, { key: createSecretKey(Buffer.from('another-secret-0123456789')) });
    const r = await refusal(hsAuth().authenticate(requestWith(), urlWith(token)));
    expect(r.message).not.toContain(token.split('.')[2]);
  });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    it(`verifies ${alg} with a PEM public key given inline or as a path`, async () => {
      const pair = await keyPair(alg);
      const token = await signToken({ sub: alg, room: 'r' }, { alg, key: pair.privateKey });
      const inline = createAuthenticator({ jwt: { publicKey: pair.publicPem, clockToleranceSeconds: 0 } });
      expect((await inline.authenticate(requestWith(), urlWith(token))).sub).toBe(alg);
      const dir = mkdtempSync(join(tmpdir(), 'sigctl-auth-'));
      try {
        writeFileSync(join(dir, 'key.pem'), pair.publicPem);
        const byPath = createAuthenticator({ jwt: { publicKey: join(dir, 'key.pem'), algorithms: [alg], clockToleranceSeconds: 0 } });
        expect((await byPath.authenticate(requestWith(), urlWith(token))).sub).toBe(alg);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const other = await keyPair(alg);
      const forged = await signToken({ sub: alg, room: 'r' }, { alg, key: other.privateKey });
      expect(await refusal(inline.authenticate(requestWith(), urlWith(forged)))).toMatchObject({ reason: 'bad_signature' });
    });
  }
});

describe('auth configuration', () => {
  const bad = (jwt: Record<string, unknown>): string => {
    const r = ConfigSchema.safeParse({ auth: { jwt } });
    expect(r.success).toBe(false);
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  };

  it('names the missing key or the conflict', () => {
    expect(bad({})).toMatch(/needs a key/);
    expect(bad({ algorithms: ['RS256'] })).toMatch(/needs a key/);
    expect(bad({ secret: TEST_SECRET, jwksUrl: 'https://x.test/jwks' })).toMatch(/only one of/);
    expect(bad({ secret: TEST_SECRET, algorithms: ['RS256'] })).toMatch(/auth\.jwt\.algorithms: .*only verifies HS256/);
    expect(bad({ jwksUrl: 'https://x.test/jwks', algorithms: ['HS256'] })).toMatch(/HS256 needs auth\.jwt\.secret/);
    expect(bad({ secret: 'short' })).toMatch(/at least 16/);
    expect(ConfigSchema.safeParse({ auth: { jwt: { secret: TEST_SECRET } } }).success).toBe(true);
  });

  it('createAuthenticator refuses keys that do not fit the algorithms', async () => {
    const ec = await keyPair('ES256');
    expect(() => createAuthenticator({ jwt: { publicKey: ec.publicPem, algorithms: ['RS256'], clockToleranceSeconds: 5 } })).toThrow(/does not fit auth\.jwt\.publicKey, which is a ES256 key/);
    expect(() => createAuthenticator({ jwt: { publicKey: '/nonexistent/key.pem', clockToleranceSeconds: 5 } })).toThrow(/cannot read \/nonexistent\/key\.pem: ENOENT/);
    expect(() => createAuthenticator({ jwt: { publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', clockToleranceSeconds: 5 } })).toThrow(/not a PEM public key/);
    expect(() => createAuthenticator({ jwt: { clockToleranceSeconds: 5 } })).toThrow(/needs a key/);
    expect(() => createAuthenticator({ jwt: { secret: TEST_SECRET, algorithms: ['EdDSA'], clockToleranceSeconds: 5 } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/only verifies HS256/) as unknown }) as unknown,
    );
  });
});

describe('authorizeJoin', () => {
  it('allows the granted room or glob, forbids others', () => {
    expect(authorizeJoin({ canSend: true }, 'anything')).toEqual({ allowed: true });
    expect(authorizeJoin({ canSend: true, room: 'r1' }, 'r1')).toEqual({ allowed: true });
    expect(authorizeJoin({ canSend: true, room: 'team-*' }, 'team-42')).toEqual({ allowed: true });
    expect(authorizeJoin({ canSend: true, room: 'team-*' }, 'other')).toMatchObject({ allowed: false, message: expect.stringMatching(/grants room "team-\*", not "other"/) as unknown });
    expect(authorizeJoin({ canSend: true, room: 'r1' }, 'r2')).toMatchObject({ allowed: false, code: 'FORBIDDEN', reason: 'wrong_room' });
  });
});
