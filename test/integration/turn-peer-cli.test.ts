/**
 * `sigctl peer --relay-only` as a user runs it: two peers behind a real server that hands out coturn
 * REST credentials connect relay/relay; with a wrong TURN secret both fail with TURN_AUTH_FAILED.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator, mintToken } from '../../src/auth/index.js';
import { spawnCli, type CliProcess } from '../helpers/auth-cli.js';
import { coturnFor, type Coturn } from '../helpers/auth-coturn.js';
import { TEST_SECRET } from '../helpers/auth-tokens.js';
import { Resources, startTestServer, testConfig } from '../helpers/server-harness.js';
import { requires } from '../helpers/requires.js';
import { Cleanups } from '../helpers/cleanups.js';

const res = new Resources();
const cleanups = new Cleanups();
afterEach(() => cleanups.run().finally(() => res.closeAll()));

const coturn = (): Promise<Coturn> => coturnFor(cleanups);
const peer = (args: string[]): CliProcess => cleanups.add(spawnCli(['peer', '--json', '--relay-only', ...args]), (p) => p.kill());

async function server(turnUrl: string, turnSecret: string): Promise<string> {
  const overrides = { auth: { jwt: { secret: TEST_SECRET } }, ice: { turn: [{ urls: [turnUrl], secret: turnSecret }] } };
  const s = res.server(await startTestServer(overrides, { authenticator: createAuthenticator(testConfig(overrides).auth) }));
  return s.url;
}

async function token(sub: string): Promise<string> {
  return (await mintToken({ secret: TEST_SECRET, room: 'relay-*', sub, ttlSeconds: 600 })).token;
}

describe('sigctl peer --relay-only through coturn', requires('turnserver'), () => {
  it('sends a file relay/relay with credentials minted by the server', async () => {
    const turn = await coturn();
    const url = await server(turn.url, turn.secret);
    const dir = cleanups.add(mkdtempSync(join(tmpdir(), 'sigctl-relay-')), (d) => rmSync(d, { recursive: true, force: true }));
    writeFileSync(join(dir, 'payload.bin'), randomBytes(64 * 1024));
    mkdirSync(join(dir, 'in'));
    // The receiver stays up until the sender has its confirmation; the sender ends the run.
    const receiver = peer(['--url', url, '--room', 'relay-1', '--token', await token('receiver'), '--recv', join(dir, 'in'), '--timeout', '30']);
    const sender = peer(['--url', url, '--room', 'relay-1', '--token', await token('sender'), '--send', join(dir, 'payload.bin'), '--count', '1', '--timeout', '20']);
    const sc = await sender.exited(25_000);
    await receiver.kill();
    const diag = `receiver: ${JSON.stringify(receiver.events())} ${receiver.stderr()}\nsender: ${JSON.stringify(sender.events())} ${sender.stderr()}`;
    expect(sc, diag).toBe(0);
    for (const p of [receiver, sender]) {
      const connected = p.events().find((e) => e.type === 'peer-connected');
      expect(connected, diag).toMatchObject({ local: 'relay', remote: 'relay' });
    }
    expect(receiver.events().find((e) => e.type === 'file'), diag).toMatchObject({ direction: 'received', ok: true });
  }, 45_000);

  it('fails with TURN_AUTH_FAILED when the server holds the wrong TURN secret', async () => {
    const turn = await coturn();
    const url = await server(turn.url, 'not-the-coturn-secret');
    const a = peer(['--url', url, '--room', 'relay-2', '--token', await token('a'), '--timeout', '20']);
    const b = peer(['--url', url, '--room', 'relay-2', '--token', await token('b'), '--timeout', '20']);
    const codes = await Promise.all([a.exited(25_000), b.exited(25_000)]);
    const diag = `a: ${JSON.stringify(a.events())} ${a.stderr()}\nb: ${JSON.stringify(b.events())} ${b.stderr()}`;
    expect(codes, diag).toEqual([1, 1]);
    for (const p of [a, b]) {
      const error = p.events().find((e) => e.type === 'error');
      expect(error, diag).toMatchObject({ code: 'TURN_AUTH_FAILED', message: expect.stringMatching(/TURN/) as unknown });
    }
  }, 45_000);
});
