import { afterEach, describe, expect, it } from 'vitest';
import type { RTCIceServer, RTCPeerConnection } from 'werift';
import { iceServersFor } from '../../src/auth/ice-servers.js';
import { probeTurn } from '../../src/stun/turn-probe.js';
import { turnRestCredentials } from '../../src/auth/turn-credentials.js';
import { coturnFor, type Coturn } from '../helpers/auth-coturn.js';
import { getJson } from '../helpers/auth-http.js';
import { Resources, startTestServer, TestClient } from '../helpers/server-harness.js';
import { connectPair, gatherCandidates, makePeer, selectedPairTypes } from '../helpers/auth-werift.js';
import { within } from '../helpers/within.js';
import { requires } from '../helpers/requires.js';
import { Cleanups } from '../helpers/cleanups.js';

const cleanups = new Cleanups();
const res = new Resources();
afterEach(() => cleanups.run().finally(() => res.closeAll()));

const coturn = (): Promise<Coturn> => coturnFor(cleanups);
const relayPeer = (iceServers: RTCIceServer[]): RTCPeerConnection => cleanups.add(makePeer(iceServers, true), (pc) => pc.close());

/** What `welcome` hands a session: REST credentials minted from the TURN secret. */
function iceFor(turn: Coturn, secret: string, user: string): RTCIceServer[] {
  return iceServersFor({ stun: [], turn: [{ urls: [turn.url], secret, ttlSeconds: 600 }] }, user, Date.now());
}

describe('TURN REST credentials against coturn', requires('turnserver'), () => {
  it('lets two relay-only werift peers open a data channel through coturn (relay/relay)', async () => {
    const turn = await coturn();
    const a = relayPeer(iceFor(turn, turn.secret, 'alice'));
    const b = relayPeer(iceFor(turn, turn.secret, 'bob'));
    const { channelA, channelB } = await connectPair(a, b, 20_000);
    const got = new Promise<string>((resolve) => channelB.onMessage.subscribe((m) => resolve(m.toString())));
    channelA.send('through the relay');
    expect(await within(got, 5_000, 'message over the relay')).toBe('through the relay');
    expect(selectedPairTypes(a)).toEqual({ local: 'relay', remote: 'relay' });
    expect(selectedPairTypes(b)).toEqual({ local: 'relay', remote: 'relay' });
  });

  it('yields no relay candidate with credentials from a wrong secret (bounded)', async () => {
    const turn = await coturn();
    const pc = relayPeer(iceFor(turn, 'not-the-coturn-secret', 'mallory'));
    const { candidates } = await gatherCandidates(pc, 4_000);
    expect(candidates.filter((c) => / typ relay /.test(c))).toEqual([]);
    expect(turn.log()).toMatch(/check_stun_auth/);
  });
});

describe('TURN credentials handed out by the server', requires('turnserver'), () => {
  it('welcome carries REST credentials that relay two werift peers through coturn', async () => {
    const turn = await coturn();
    const s = res.server(await startTestServer({ ice: { turn: [{ urls: [turn.url], secret: turn.secret, ttlSeconds: 600 }] } }));
    const ca = res.client(await TestClient.open(s.url));
    const cb = res.client(await TestClient.open(s.url));
    const [wa, wb] = await Promise.all([ca.next('welcome'), cb.next('welcome')]);
    expect(wa.iceServers[0]!.username).toMatch(new RegExp(`^\\d+:${wa.session}$`));
    const a = relayPeer(wa.iceServers);
    const b = relayPeer(wb.iceServers);
    await connectPair(a, b, 20_000);
    expect(selectedPairTypes(a)).toEqual({ local: 'relay', remote: 'relay' });
  });

  it('GET /v1/ice-servers credentials pass coturn authentication; a server with the wrong secret fails it', async () => {
    const turn = await coturn();
    for (const [secret, ok] of [[turn.secret, true], ['wrong-secret', false]] as const) {
      const s = res.server(await startTestServer({ ice: { turn: [{ urls: [turn.url], secret }] } }));
      const { body } = await getJson(`${s.httpUrl}/v1/ice-servers`);
      const server = (body as { iceServers: Array<{ urls: string; username: string; credential: string }> }).iceServers[0]!;
      const probe = probeTurn({ url: server.urls, username: server.username, credential: server.credential, timeoutMs: 5_000 });
      if (ok) expect((await probe).relayed.address).toBe('127.0.0.1');
      else await expect(probe).rejects.toMatchObject({ code: 'TURN_AUTH_FAILED', message: expect.stringMatching(/TURN authentication failed/) as unknown });
    }
  });
});

describe('probeTurn against coturn', requires('turnserver'), () => {
  it('allocates (and releases) a relay with REST credentials minted from the right secret', async () => {
    const turn = await coturn();
    const { username, credential } = turnRestCredentials(turn.secret, 'alice', 600, Date.now());
    const result = await probeTurn({ url: turn.url, username, credential, timeoutMs: 5_000 });
    expect(result.realm).toBe('sigctl.test');
    expect(result.relayed.address).toBe('127.0.0.1');
    expect(result.relayed.port).toBeGreaterThan(0);
  });

  it('fails with TURN_AUTH_FAILED naming TURN authentication for a wrong secret', async () => {
    const turn = await coturn();
    const { username, credential } = turnRestCredentials('not-the-coturn-secret', 'mallory', 600, Date.now());
    const err = await probeTurn({ url: turn.url, username, credential, timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TURN_AUTH_FAILED', message: expect.stringMatching(/^TURN authentication failed at turn:127\.0\.0\.1:\d+\?transport=udp: 401 .*static-auth-secret/) as unknown });
    expect((err as Error).message).not.toContain(credential);
  });

  it('says when REST credentials have expired', async () => {
    const turn = await coturn();
    const { username, credential } = turnRestCredentials(turn.secret, 'late', 60, Date.now() - 3_600_000);
    await expect(probeTurn({ url: turn.url, username, credential, timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'TURN_AUTH_FAILED',
      message: expect.stringMatching(/REST credentials expired at/) as unknown,
    });
  });

  it('times out (TIMEOUT) when nothing answers', async () => {
    const turn = await coturn();
    await turn.stop();
    await expect(probeTurn({ url: turn.url, username: 'u', credential: 'c', timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
