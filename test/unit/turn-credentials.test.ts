/**
 * TURN REST credentials against an independent implementation: the openssl binary computes
 * HMAC-SHA1 over the username, as coturn does with static-auth-secret.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { iceServersFor } from '../../src/auth/ice-servers.js';
import { turnRestCredentials } from '../../src/auth/turn-credentials.js';
import { requires } from '../helpers/requires.js';

function opensslHmacSha1Base64(secret: string, message: string): string {
  const raw = execFileSync('openssl', ['dgst', '-sha1', '-hmac', secret, '-binary'], { input: message, timeout: 10_000 });
  return raw.toString('base64');
}

describe('turnRestCredentials', requires('openssl'), () => {
  it('username is <expiry>:<user> and credential is base64(HMAC-SHA1(secret, username)), matching openssl', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0); // 1767225600 s
    const c = turnRestCredentials('north-pole-secret', 'session-abc', 3600, now);
    expect(c.username).toBe('1767229200:session-abc');
    expect(c.expiresAt).toBe(1_767_229_200);
    expect(c.credential).toBe(opensslHmacSha1Base64('north-pole-secret', '1767229200:session-abc'));
  });

  it('floors sub-second clocks and differs per user', () => {
    const a = turnRestCredentials('s', 'a', 10, 1_000_999);
    expect(a.username).toBe('1010:a');
    expect(turnRestCredentials('s', 'b', 10, 1_000_999).credential).not.toBe(a.credential);
  });
});

describe('iceServersFor', requires('openssl'), () => {
  it('lists STUN, REST TURN (fresh credentials), static TURN and credential-less TURN', () => {
    const servers = iceServersFor(
      {
        stun: ['stun:a.example:3478', 'stun:b.example:3478'],
        turn: [
          { urls: ['turn:t.example:3478'], secret: 'k', ttlSeconds: 60 },
          { urls: ['turn:s.example:3478', 'turns:s.example:5349'], username: 'u', credential: 'p', ttlSeconds: 86_400 },
          { urls: ['turn:open.example:3478'], ttlSeconds: 86_400 },
        ],
      },
      'sess',
      0,
    );
    expect(servers).toEqual([
      { urls: ['stun:a.example:3478', 'stun:b.example:3478'] },
      { urls: 'turn:t.example:3478', username: '60:sess', credential: opensslHmacSha1Base64('k', '60:sess') },
      { urls: ['turn:s.example:3478', 'turns:s.example:5349'], username: 'u', credential: 'p' },
      { urls: 'turn:open.example:3478' },
    ]);
    expect(iceServersFor({ stun: [], turn: [] }, 'x', 0)).toEqual([]);
  });
});
