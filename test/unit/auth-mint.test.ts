import { describe, expect, it } from 'vitest';
import { createAuthenticator, mintToken, parseDuration } from '../../src/auth/index.js';
import { requestWith, TEST_SECRET, urlWith } from '../helpers/auth-tokens.js';

describe('mintToken', () => {
  it('mints a token the authenticator accepts, with the claims it reports', async () => {
    const { token, claims } = await mintToken({ secret: TEST_SECRET, room: 'team-*', sub: 'alice', ttlSeconds: 3600, capacity: 5, receiveOnly: true, now: () => 1_700_000_000_000 });
    expect(claims).toEqual({ sub: 'alice', room: 'team-*', iat: 1_700_000_000, exp: 1_700_003_600, capacity: 5, receiveOnly: true });
    const auth = createAuthenticator({ jwt: { secret: TEST_SECRET, clockToleranceSeconds: 0 } }, { now: () => 1_700_000_100_000 });
    expect(await auth.authenticate(requestWith(), urlWith(token))).toEqual({ sub: 'alice', room: 'team-*', capacity: 5, canSend: false, expiresAt: 1_700_003_600 });
  });

  it('writes issuer and audience when asked', async () => {
    const { token } = await mintToken({ secret: TEST_SECRET, room: 'r', sub: 'a', ttlSeconds: 60, issuer: 'iss', audience: 'aud' });
    const auth = createAuthenticator({ jwt: { secret: TEST_SECRET, issuer: 'iss', audience: 'aud', clockToleranceSeconds: 0 } });
    expect((await auth.authenticate(requestWith(), urlWith(token))).sub).toBe('a');
  });

  it('refuses bad input', async () => {
    await expect(mintToken({ secret: 'short', room: 'r', sub: 'a', ttlSeconds: 60 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(mintToken({ secret: TEST_SECRET, room: 'bad room', sub: 'a', ttlSeconds: 60 })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(mintToken({ secret: TEST_SECRET, room: 'r', sub: '', ttlSeconds: 60 })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(mintToken({ secret: TEST_SECRET, room: 'r', sub: 'a', ttlSeconds: 0 })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('parseDuration', () => {
  it('parses seconds, minutes, hours, days', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('7D')).toBe(604_800);
    expect(parseDuration('0')).toBeUndefined();
    expect(parseDuration('1.5h')).toBeUndefined();
    expect(parseDuration('1w')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
});
