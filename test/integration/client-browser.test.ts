/**
 * The browser build of the signaling client (src/client/browser.ts) against a real server, on a
 * WHATWG-style global WebSocket: `ws`'s WebSocket class, which has the same onopen/onmessage/
 * onclose surface, installed as globalThis.WebSocket (Node 20 has none). Checks what differs from
 * Node: the token in the query, no visible server pings (the client probes with `ping` frames),
 * and a `bye` followed by reconnecting where the server said.
 */
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import { SignalClient } from '../../src/client/browser.js';
import type { SignalingServer } from '../../src/server/index.js';
import { signToken } from '../helpers/auth-tokens.js';
import { TEST_SECRET } from '../helpers/auth-tokens.js';
import { startTestServer, testConfig, within } from '../helpers/server-harness.js';

/** Frames the page-side sockets sent, for waiting on the client's ping probes. */
const sent: string[] = [];
let wake: (() => void) | undefined;
class RecordingWebSocket extends WebSocket {
  override send(data: string): void {
    sent.push(data);
    wake?.();
    super.send(data);
  }
}

const globals = globalThis as { WebSocket?: unknown };
const previous = globals.WebSocket;
beforeAll(() => {
  globals.WebSocket = RecordingWebSocket;
});
afterAll(() => {
  globals.WebSocket = previous;
});

const servers: SignalingServer[] = [];
const clients: SignalClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  sent.length = 0;
});

function client(url: string, token?: string): SignalClient {
  const c = new SignalClient({ url, token, reconnect: { baseMs: 20, capMs: 200, maxAttempts: 20 } });
  clients.push(c);
  return c;
}

function next<T>(subscribe: (resolve: (v: T) => void) => void, what: string, ms = 5_000): Promise<T> {
  return within(new Promise<T>((resolve) => subscribe(resolve)), ms, what);
}

describe('the browser SignalClient on a global WebSocket', () => {
  it('sends the token as ?token=, joins, relays signals and meta', async () => {
    const auth = { auth: { jwt: { secret: TEST_SECRET } } };
    const s = await startTestServer(auth, { authenticator: createAuthenticator(testConfig(auth).auth) });
    servers.push(s);
    const a = client(s.url, await signToken({ sub: 'alice' }));
    const b = client(s.url, await signToken({ sub: 'bob' }));
    await within(Promise.all([a.connect(), b.connect()]), 5_000, 'both connected');
    await a.join({ room: 'web-1' });
    const joined = await b.join({ room: 'web-1' });
    expect(joined.self.name).toBe('bob');
    const got = next<unknown>((r) => a.once('signal', (m) => r(m.data)), 'signal at alice');
    b.signal({ candidate: null }, joined.peers[0]!.id);
    expect(await got).toEqual({ candidate: null });
    const updated = next<unknown>((r) => a.once('peer-updated', (m) => r(m.peer.meta)), 'peer-updated at alice');
    await b.meta({ audio: false, video: true });
    expect(await updated).toEqual({ audio: false, video: true });
    // Without a token the browser cannot be told why (no HTTP status): a plain connection failure.
    const bare = client(s.url);
    await expect(bare.connect()).rejects.toMatchObject({ code: 'SERVER_UNREACHABLE' });
  });

  it('keeps a quiet connection alive with ping probes, since it cannot see the server pings', async () => {
    const s = await startTestServer({ heartbeatMs: 200 });
    servers.push(s);
    const a = client(s.url);
    let reconnects = 0;
    a.on('reconnecting', () => reconnects++);
    await a.connect();
    await a.join({ room: 'web-2' });
    // Three probes span well over the watchdog's 3 heartbeats (600 ms).
    await within(
      new Promise<void>((resolve) => {
        wake = () => {
          if (sent.filter((f) => f.startsWith('{"type":"ping"')).length >= 4) resolve();
        };
        wake();
      }),
      10_000,
      'four ping probes',
    );
    wake = undefined;
    expect(reconnects).toBe(0);
    expect(a.state).toBe('joined');
  });

  it('after bye reconnects to the server that replaces the old one and joins again', async () => {
    const first = await startTestServer({ drainMs: 100, reconnectMs: 300 });
    const port = first.port;
    const a = client(first.url);
    await a.connect();
    const before = await a.join({ room: 'web-3' });
    const bye = next<number>((r) => a.once('bye', (m) => r(m.reconnectMs)), 'bye');
    const rejoined = next<string>((r) => a.once('rejoined', (j) => r(j.self.id)), 'rejoined on the new server', 10_000);
    await first.drain();
    expect(await bye).toBe(300);
    servers.push(await startTestServer({ port }));
    // The new server does not know the resume token: the client joins the same room as a new member.
    expect(await rejoined).not.toBe(before.self.id);
    expect(a.joined?.room).toBe('web-3');
  });
});
