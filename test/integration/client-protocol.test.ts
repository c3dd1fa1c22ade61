/**
 * SignalClient against a real server on 127.0.0.1 port 0: join, relay, meta, ping, leave, typed
 * errors with the protocol's codes, and auth by header and by query string.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/auth/index.js';
import { SignalClient, type SignalClientOptions } from '../../src/client/index.js';
import { isSigctlError, type SigctlError } from '../../src/protocol/errors.js';
import type { SignalingServer } from '../../src/server/index.js';
import { startPeerTestServer } from '../helpers/peer-server.js';
import { RecordingClock } from '../helpers/clock.js';
import { nextEvent, within } from '../helpers/peer-timeout.js';

let server: SignalingServer | undefined;
let clients: SignalClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await server?.close();
  server = undefined;
});

function client(options: Partial<SignalClientOptions> = {}): SignalClient {
  const c = new SignalClient({ url: server!.url, connectTimeoutMs: 3_000, requestTimeoutMs: 3_000, reconnect: false, ...options });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<SigctlError> {
  try {
    await within(p, 5_000, 'a rejection');
  } catch (err) {
    if (isSigctlError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('SignalClient protocol', () => {
  it('connects, joins, relays targeted and broadcast signals, updates meta, pings and leaves', async () => {
    server = await startPeerTestServer({ rooms: { capacity: 3, maxCapacity: 8 } });
    const a = client();
    const b = client();
    const welcome = await within(a.connect(), 3_000, 'welcome');
    expect(welcome.protocol).toBe(1);
    expect(a.state).toBe('connected');
    const ja = await within(a.join({ room: 'c1', name: 'alice' }), 3_000, 'join a');
    expect(ja.self.name).toBe('alice');
    expect(a.state).toBe('joined');
    await within(b.connect(), 3_000, 'welcome b');
    const peerJoined = nextEvent(a, 'peer-joined', 3_000);
    const ready = nextEvent(a, 'ready', 3_000);
    const jb = await within(b.join({ room: 'c1', name: 'bob', meta: { audio: false } }), 3_000, 'join b');
    expect(jb.peers.map((p) => p.id)).toEqual([ja.self.id]);
    expect((await peerJoined)[0].peer.name).toBe('bob');
    expect((await ready)[0].offerer).toBe(jb.self.id);

    const targeted = nextEvent(a, 'signal', 3_000);
    b.signal({ hello: 1 }, ja.self.id);
    const [sig] = await targeted;
    expect(sig).toMatchObject({ from: jb.self.id, data: { hello: 1 } });
    const broadcast = nextEvent(b, 'signal', 3_000);
    a.signal({ all: true });
    expect((await broadcast)[0]).toMatchObject({ from: ja.self.id, data: { all: true } });

    const seen = nextEvent(a, 'peer-updated', 3_000);
    const updated = await within(b.meta({ video: true }), 3_000, 'meta');
    expect(updated.peer.meta).toEqual({ video: true });
    expect((await seen)[0].peer.meta).toEqual({ video: true });

    // The round trip is timed inside the call: no longer than the call as the test saw it.
    const before = performance.now();
    const rtt = await within(a.ping(), 3_000, 'pong');
    const call = performance.now() - before;
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThanOrEqual(call);

    const left = nextEvent(a, 'peer-left', 3_000);
    await within(b.leave(), 3_000, 'leave');
    expect(b.state).toBe('connected');
    expect((await left)[0]).toMatchObject({ peer: jb.self.id, reason: 'leave' });
  });

  it('rejects with the protocol codes: ROOM_FULL, BAD_ROOM, ALREADY_JOINED; UNKNOWN_PEER arrives as an error event', async () => {
    server = await startPeerTestServer();
    const [a, b, c] = [client(), client(), client()];
    await Promise.all([a.connect(), b.connect(), c.connect()]);
    await a.join({ room: 'full' });
    await b.join({ room: 'full' });
    expect((await rejection(c.join({ room: 'full' }))).code).toBe('ROOM_FULL');
    expect(c.state).toBe('connected');
    expect((await rejection(c.join({ room: 'bad room!' }))).code).toBe('BAD_ROOM');
    expect((await rejection(a.join({ room: 'other' }))).code).toBe('ALREADY_JOINED');
    const err = nextEvent(a, 'error', 3_000);
    a.signal({ x: 1 }, 'nobody-here');
    expect((await err)[0].code).toBe('UNKNOWN_PEER');
  });

  it('fails clearly when the server is unreachable', async () => {
    server = await startPeerTestServer();
    const url = server.url;
    await server.close();
    server = undefined;
    const c = new SignalClient({ url, connectTimeoutMs: 2_000, reconnect: false });
    clients.push(c);
    const closedWith: Array<string | undefined> = [];
    c.on('closed', ({ error }) => closedWith.push(error?.code));
    const err = await rejection(c.connect());
    expect(err.code).toBe('SERVER_UNREACHABLE');
    expect(err.message).toContain('127.0.0.1');
    expect(c.state).toBe('closed');
    // The refused socket's own 'close' is not a dropped session: `closed` carries the same code.
    expect(closedWith).toEqual(['SERVER_UNREACHABLE']);
  });

  it('sends the token as a Bearer header or as ?token=, and stops for good on UNAUTHORIZED', async () => {
    const secret = 'client-test-secret-0123456789';
    server = await startPeerTestServer({ auth: { jwt: { secret } } });
    const { token } = await mintToken({ secret, room: 'authed', sub: 'carol', ttlSeconds: 60 });
    const viaHeader = client({ token });
    await within(viaHeader.connect(), 3_000, 'welcome (header)');
    const joined = await viaHeader.join({ room: 'authed' });
    expect(joined.self.name).toBe('carol');
    const viaQuery = client({ token, tokenIn: 'query' });
    await within(viaQuery.connect(), 3_000, 'welcome (query)');

    const refused = client({ token: 'not-a-jwt', reconnect: { baseMs: 10, maxAttempts: 5 } });
    const err = await rejection(refused.connect());
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.message).not.toContain('not-a-jwt');
    expect(refused.state).toBe('closed');
    const none = client();
    expect((await rejection(none.connect())).code).toBe('UNAUTHORIZED');
  });

  it('close() is idempotent, sends leave, and never reconnects', async () => {
    server = await startPeerTestServer();
    const clock = new RecordingClock();
    const a = client({ reconnect: { baseMs: 10 }, clock });
    const b = client();
    await Promise.all([a.connect(), b.connect()]);
    await a.join({ room: 'bye' });
    await b.join({ room: 'bye' });
    const left = nextEvent(b, 'peer-left', 3_000);
    const states: string[] = [];
    a.on('state', (to) => states.push(to));
    await Promise.all([a.close(), a.close()]);
    expect((await left)[0].reason).toBe('leave');
    // Never reconnects: no timer of a's is pending (a reconnect would be one).
    expect(clock.pending).toBe(0);
    expect(a.state).toBe('closed');
    expect(states).toEqual(['closed']);
  });
});
