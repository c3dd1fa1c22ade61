import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import { runCli } from '../helpers/cli-run.js';
import { requestWith, TEST_SECRET, urlWith } from '../helpers/auth-tokens.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigctl-token-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const verify = (token: string, extra: Record<string, string> = {}): ReturnType<ReturnType<typeof createAuthenticator>['authenticate']> =>
  createAuthenticator({ jwt: { secret: TEST_SECRET, clockToleranceSeconds: 0, ...extra } }).authenticate(requestWith(), urlWith(token));

describe('sigctl token', () => {
  it('prints only the token on stdout, signed with the secret from the environment', async () => {
    const r = await runCli(['token', '--room', 'demo', '--sub', 'alice', '--ttl', '1h'], { cwd: dir, env: { SIGCTL_AUTH_JWT_SECRET: TEST_SECRET } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const p = await verify(r.stdout.trim());
    expect(p).toMatchObject({ sub: 'alice', room: 'demo', canSend: true });
    expect(p.expiresAt! - Date.now() / 1000).toBeGreaterThan(3500);
  });

  it('--json prints {token, claims} with capacity, receive-only and the config issuer/audience', async () => {
    writeFileSync(join(dir, 'auth.json'), JSON.stringify({ auth: { jwt: { secret: TEST_SECRET, issuer: 'iss.test', audience: 'sigctl' } } }));
    const r = await runCli(['token', '--config', 'auth.json', '--room', 'team-*', '--sub', 'bob', '--ttl', '30m', '--capacity', '4', '--receive-only', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { token: string; claims: Record<string, unknown> };
    expect(doc.claims).toMatchObject({ sub: 'bob', room: 'team-*', capacity: 4, receiveOnly: true, iss: 'iss.test', aud: 'sigctl' });
    expect((doc.claims.exp as number) - (doc.claims.iat as number)).toBe(1800);
    expect(await verify(doc.token, { issuer: 'iss.test', audience: 'sigctl' })).toMatchObject({ sub: 'bob', capacity: 4, canSend: false });
  });

  it('--secret overrides the config', async () => {
    const r = await runCli(['token', '--room', 'r', '--sub', 's', '--secret', TEST_SECRET], { cwd: dir, env: { SIGCTL_AUTH_JWT_SECRET: 'some-other-secret-0123456789' } });
    expect(r.code).toBe(0);
    expect((await verify(r.stdout.trim())).sub).toBe('s');
  });

  it('fails with CONFIG_INVALID (exit 2) when there is no secret', async () => {
    const r = await runCli(['token', '--room', 'r', '--sub', 's'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/CONFIG_INVALID: no HS256 secret to sign with: auth\.jwt is not configured/);
    const j = await runCli(['token', '--room', 'r', '--sub', 's', '--json'], { cwd: dir });
    expect(j.code).toBe(2);
    // The one --json error shape of every command (docs/errors.md).
    expect(JSON.parse(j.stdout)).toEqual({ type: 'error', code: 'CONFIG_INVALID', message: expect.stringMatching(/^no HS256 secret/) as unknown });
  });

  it('names the public-key setup when auth.jwt has no secret', async () => {
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ auth: { jwt: { jwksUrl: 'https://idp.example.com/jwks.json' } } }));
    const r = await runCli(['token', '--config', 'jwks.json', '--room', 'r', '--sub', 's'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/auth\.jwt\.jwksUrl, whose private key sigctl does not have/);
  });

  it('refuses a short secret, a bad room, a bad ttl and missing flags as usage/config errors', async () => {
    const short = await runCli(['token', '--room', 'r', '--sub', 's', '--secret', 'short'], { cwd: dir });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/USAGE: --secret must be at least 16 characters/);
    const room = await runCli(['token', '--room', 'bad room', '--sub', 's', '--secret', TEST_SECRET], { cwd: dir });
    expect(room.code).toBe(2);
    expect(room.stderr).toMatch(/USAGE: --room/);
    const ttl = await runCli(['token', '--room', 'r', '--sub', 's', '--ttl', 'forever', '--secret', TEST_SECRET], { cwd: dir });
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/--ttl.*duration/);
    const missing = await runCli(['token', '--sub', 's', '--secret', TEST_SECRET], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--room/);
  });

  it("mints an any-room token with --room '*'", async () => {
    const r = await runCli(['token', '--room', '*', '--sub', 'monitor', '--secret', TEST_SECRET, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { claims: { room: string } }).claims.room).toBe('*');
  });

  it('help marks the required flags and shows the ttl default as 1h', async () => {
    const r = await runCli(['token', '--help'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--room <room>.*\(required/);
    expect(r.stdout).toMatch(/--sub <name>.*\(required\)/);
    expect(r.stdout).toMatch(/--ttl <duration>.*\(default: 1h\)/);
    expect(r.stdout).toMatch(/-c, --config <file>/); // the global flags are listed too
  });
});
