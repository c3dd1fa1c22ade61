/**
 * A refused upgrade, as the client and `sigctl peer` report it, against a real server with auth and
 * an origin allowlist: the server's JSON reason (`{"error":{"code","message"}}`) is in the
 * SigctlError (UNAUTHORIZED for 401, FORBIDDEN for 403), nothing is retried, and `peer` prints it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator, createOriginCheck } from '../../src/auth/index.js';
import { SignalClient } from '../../src/client/signal-client.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { isSigctlError, type SigctlError } from '../../src/protocol/errors.js';
import type { SignalingServer } from '../../src/server/index.js';
import { runCli } from '../helpers/cli-run.js';
import { signToken, TEST_SECRET } from '../helpers/auth-tokens.js';
import { within } from '../helpers/peer-timeout.js';
import { Resources, startTestServer, testConfig } from '../helpers/server-harness.js';

const res = new Resources();
const clients: SignalClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await res.closeAll();
});

const AUTH = { auth: { jwt: { secret: TEST_SECRET } }, origins: ['https://app.example.com'] } satisfies ConfigInput;

async function authServer(): Promise<SignalingServer> {
  const config = testConfig(AUTH);
  return res.server(await startTestServer(AUTH, { authenticator: createAuthenticator(config.auth), checkOrigin: createOriginCheck(config.origins) }));
}

/** connect() must reject; returns the error. */
async function refused(options: ConstructorParameters<typeof SignalClient>[0]): Promise<{ error: SigctlError; client: SignalClient }> {
  const client = new SignalClient({ reconnect: { maxAttempts: 3, baseMs: 10, capMs: 20 }, connectTimeoutMs: 5_000, ...options });
  clients.push(client);
  const error = await within(
    client.connect().then(
      () => undefined,
      (err: unknown) => err,
    ),
    8_000,
    'connect to be refused',
  );
  if (!isSigctlError(error)) throw new Error(`expected a SigctlError, got ${String(error)}`);
  return { error, client };
}

describe('SignalClient: refused upgrades carry the server reason', () => {
  it('401 without a token: UNAUTHORIZED with the reason, closed, not retried', async () => {
    const s = await authServer();
    const { error, client } = await refused({ url: s.url });
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toMatch(/^the server refused the token \(HTTP 401 from .*\): missing token/);
    expect(error.details).toMatchObject({ status: 401, wireCode: 'UNAUTHORIZED', reason: expect.stringMatching(/^missing token/) as unknown });
    expect(client.state).toBe('closed');
  });

  it('401 for an expired token (header or ?token=): the reason names expiry, the token is not echoed', async () => {
    const s = await authServer();
    const expired = await signToken({ sub: 'a', room: 'r' }, { nowSeconds: Math.floor(Date.now() / 1000) - 7200 });
    for (const tokenIn of ['header', 'query'] as const) {
      const { error } = await refused({ url: s.url, token: expired, tokenIn });
      expect(error.code, tokenIn).toBe('UNAUTHORIZED');
      expect(error.message, tokenIn).toMatch(/: expired token/);
      expect(error.message).not.toContain(expired.split('.')[2]);
    }
  });

  it('403 for a browser origin that is not allowed: FORBIDDEN with the reason', async () => {
    const s = await authServer();
    const token = await signToken({ sub: 'a', room: 'r' });
    const { error } = await refused({ url: s.url, token, wsOptions: { origin: 'https://evil.example.net' } });
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(/HTTP 403 .*: origin "https:\/\/evil\.example\.net" is not allowed/);
    expect(error.details).toMatchObject({ status: 403, wireCode: 'FORBIDDEN' });
  });
});

describe('sigctl peer: a refused token', () => {
  it('prints the server reason with the code and exits 1', async () => {
    const s = await authServer();
    const expired = await signToken({ sub: 'a', room: 'r' }, { nowSeconds: Math.floor(Date.now() / 1000) - 7200 });
    const human = await runCli(['peer', '--room', 'r', '--url', s.url, '--token', expired], { timeoutMs: 20_000 });
    expect(human.code, human.stderr).toBe(1);
    expect(human.stderr).toMatch(/UNAUTHORIZED/);
    expect(human.stderr).toMatch(/expired token/);
    expect(human.stderr).not.toContain(expired.split('.')[2]);
    const json = await runCli(['peer', '--room', 'r', '--url', s.url, '--json'], { timeoutMs: 20_000 });
    expect(json.code).toBe(1);
    const first = JSON.parse(json.stdout.split('\n')[0] ?? '{}') as Record<string, unknown>;
    expect(first).toMatchObject({ type: 'error', code: 'UNAUTHORIZED', message: expect.stringMatching(/missing token/) as unknown });
  }, 45_000);
});
