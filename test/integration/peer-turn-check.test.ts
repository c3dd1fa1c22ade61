/**
 * The --relay-only pre-flight (src/peer/turn-check.ts): against a real coturn, right credentials
 * pass and a wrong secret is TURN_AUTH_FAILED in about a second; and the decision over several
 * servers (any success passes, a refusal with no success fails, silence fails unless gathering has
 * an unprobeable TURN URL left).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { turnRestCredentials } from '../../src/auth/turn-credentials.js';
import { checkTurnCredentials, probeableTurnUrls } from '../../src/peer/turn-check.js';
import { SigctlError } from '../../src/protocol/errors.js';
import { startCoturn, type Coturn } from '../helpers/auth-coturn.js';
import { within } from '../helpers/peer-timeout.js';
import { requires } from '../helpers/requires.js';

let turn: Coturn | undefined;
afterEach(async () => {
  await turn?.stop();
  turn = undefined;
});

const rejection = (p: Promise<unknown>): Promise<SigctlError> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => {
      if (!(err instanceof SigctlError)) throw err;
      return err;
    },
  );

describe('checkTurnCredentials', requires('turnserver'), () => {
  it('passes coturn REST credentials from the right secret and names a wrong one', async () => {
    turn = await startCoturn();
    const good = turnRestCredentials(turn.secret, 'alice', 600, Date.now());
    await within(checkTurnCredentials([{ urls: [turn.url], username: good.username, credential: good.credential }]), 5_000, 'probe with the right secret');
    const bad = turnRestCredentials('not-the-coturn-secret', 'alice', 600, Date.now());
    const err = await within(rejection(checkTurnCredentials([{ urls: [turn.url], username: bad.username, credential: bad.credential }])), 5_000, 'probe with a wrong secret');
    expect(err.code).toBe('TURN_AUTH_FAILED');
    expect(err.message).toMatch(/^--relay-only: TURN authentication failed at turn:127\.0\.0\.1:\d+\?transport=udp: 401/);
    expect(err.message).not.toContain(bad.credential);
  });

});

describe('checkTurnCredentials over several servers', () => {
  it('decides: any success passes, a refusal fails, silence everywhere fails unless an unprobeable TURN URL is left', async () => {
    const servers = [
      { urls: 'turn:a.example:3478', username: 'u', credential: 'p' },
      { urls: ['turn:b.example:3478?transport=udp', 'turns:b.example:5349', 'turn:b.example:3478?transport=tcp'], username: 'u', credential: 'p' },
      { urls: 'turn:c.example:3478' }, // no credentials: nothing to check
      { urls: 'stun:d.example:3478' },
    ];
    expect(probeableTurnUrls(servers).map((t) => t.url)).toEqual(['turn:a.example:3478', 'turn:b.example:3478?transport=udp']);
    const refused = new SigctlError('TURN_AUTH_FAILED', 'TURN authentication failed at turn:a.example:3478: 401 Unauthorized');
    const silent = new SigctlError('TIMEOUT', 'no answer');
    const probe = (outcome: Record<string, SigctlError | undefined>) => (o: { url: string }) => {
      const err = outcome[o.url];
      return err === undefined ? Promise.resolve({ realm: 'r', relayed: { address: '127.0.0.1', port: 1 } }) : Promise.reject(err);
    };
    // a refuses, b works: relay candidates will come from b.
    await checkTurnCredentials(servers, { probe: probe({ 'turn:a.example:3478': refused }) });
    // a refuses, b is silent: the refusal is the answer.
    const err = await rejection(checkTurnCredentials(servers, { probe: probe({ 'turn:a.example:3478': refused, 'turn:b.example:3478?transport=udp': silent }) }));
    expect(err.code).toBe('TURN_AUTH_FAILED');
    expect(err.message).toContain('turn:a.example:3478');
    // both silent, but b also has TCP/TLS URLs the probe cannot check: gathering decides.
    await checkTurnCredentials(servers, { probe: probe({ 'turn:a.example:3478': silent, 'turn:b.example:3478?transport=udp': silent }) });
    // only silent UDP TURN servers: nothing will yield a relay candidate; fail now, naming them.
    const udpOnly = [servers[0]!, { urls: 'turn:b.example:3478?transport=udp', username: 'u', credential: 'p' }];
    const none = await rejection(checkTurnCredentials(udpOnly, { probe: probe({ 'turn:a.example:3478': silent, 'turn:b.example:3478?transport=udp': silent }) }));
    expect(none.code).toBe('NO_RELAY_CANDIDATES');
    expect(none.message).toBe('--relay-only: no TURN server is usable: no answer; no answer');
  });
});
