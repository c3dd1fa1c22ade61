/**
 * Slowloris: TCP connections that never finish their HTTP upgrade. Each is reaped once
 * `limits.handshakeTimeoutMs` passes without a `welcome`, and while pending it counts against
 * `limits.maxConnectionsPerIp` like an open WebSocket, so one address cannot hold more.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ANONYMOUS, type Authenticator } from '../../src/auth/principal.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SignalingServer } from '../../src/server/index.js';
import { refusedUpgrade } from '../helpers/auth-http.js';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';
import { until } from '../helpers/within.js';

/** A raw TCP client that has sent `text` and records what it receives and when it closes. */
interface RawClient {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

async function raw(port: number, text: string): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  let isClosed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (got += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  await within(new Promise<void>((resolve) => socket.once('connect', () => resolve())), 3000, 'tcp connect');
  if (text !== '') socket.write(text);
  return { socket, received: () => got, closed, isClosed: () => isClosed };
}

const PARTIAL = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n';

describe('half-sent upgrades (slowloris)', () => {
  const res = new Resources();
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await res.closeAll();
  });
  const setup = async (limits: ConfigInput['limits']): Promise<SignalingServer> => res.server(await startTestServer({ limits }));
  const open = async (s: SignalingServer, text: string): Promise<RawClient> => {
    const c = await raw(s.port, text);
    sockets.push(c.socket);
    return c;
  };

  it('reaps connections that send a partial request line, partial headers or nothing, within the handshake timeout', async () => {
    const s = await setup({ handshakeTimeoutMs: 300 });
    const clients = await Promise.all(['', 'GET /ws HT', PARTIAL, `${PARTIAL}Connection: Upgrade\r\n`].map((t) => open(s, t)));
    // Generous bound for a loaded machine; before the fix these sockets were held ~60-90 s.
    await within(Promise.all(clients.map((c) => c.closed)), 10_000, 'the half-sent upgrades to be closed');
    // A full upgrade is unaffected.
    const ok = res.client(await TestClient.connect(s.url));
    ok.send({ type: 'ping', id: 1 });
    await ok.next('pong');
  });

  it('counts pending handshakes against maxConnectionsPerIp: the 501st pending from one address is refused (429)', async () => {
    const s = await setup({ handshakeTimeoutMs: 120_000, maxConnectionsPerIp: 500 });
    const held: RawClient[] = [];
    for (let i = 0; i < 500; i++) held.push(await open(s, PARTIAL));
    const refused = await refusedUpgrade(s.url, {}, 5000);
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
    const extra = await open(s, PARTIAL);
    await within(extra.closed, 5000, 'the 502nd pending connection to be refused');
    expect(extra.received()).toMatch(/^HTTP\/1\.1 429 /);
    expect(held.filter((c) => c.isClosed())).toEqual([]);
    // Once they go, the address may connect again.
    for (const c of held) c.socket.destroy();
    await within(Promise.all(held.map((c) => c.closed)), 5000, 'the held sockets to close');
    // The server may not have seen every close yet: retried, and the retries end with the bound.
    let ok: TestClient | undefined;
    await until(
      async () => {
        ok = await TestClient.connect(s.url).then((c) => res.client(c), () => undefined);
        return ok !== undefined;
      },
      5000,
      'a connection after the pending ones closed',
      50,
    );
    ok!.send({ type: 'ping', id: 2 });
    await ok!.next('pong');
  });

  it('frees the address slot of an upgrade whose handshake timed out while its token was being checked', async () => {
    // An authenticator that answers when the test says so (a slow JWKS, say).
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: Authenticator = { required: true, authenticate: () => gate.then(() => ANONYMOUS) };
    const s = res.server(await startTestServer({ limits: { handshakeTimeoutMs: 200, maxConnectionsPerIp: 1 } }, { authenticator: slow }));
    const stuck = await open(s, 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    await within(stuck.closed, 10_000, 'the timed-out upgrade to be closed');
    // A round trip to the server: its side of the socket has emitted 'close' by the time it answers.
    expect((await within(fetch(`${s.httpUrl}/healthz`), 3000, 'healthz')).status).toBe(200);
    release();
    // The late authentication must not take a slot for the dead socket (none would ever free it).
    expect((await within(fetch(`${s.httpUrl}/healthz`), 3000, 'healthz')).status).toBe(200);
    const c = res.client(await TestClient.connect(s.url));
    c.send({ type: 'ping', id: 1 });
    await c.next('pong');
  });

  it('leaves an upgraded connection alone after the handshake timeout', async () => {
    const s = res.server(await startTestServer({ heartbeatMs: 200, limits: { handshakeTimeoutMs: 150 } }));
    const c = res.client(await TestClient.connect(s.url));
    // Three heartbeat pings: the connection has lived several handshake timeouts (and Node's
    // request timeouts, which use the same value).
    await within(
      new Promise<void>((resolve) => {
        let n = 0;
        c.ws.on('ping', () => {
          if (++n === 3) resolve();
        });
      }),
      10_000,
      'three heartbeat pings',
    );
    c.send({ type: 'ping', id: 'late' });
    expect(await c.next('pong')).toMatchObject({ re: 'late' });
  });

  it('counts open WebSockets and pending handshakes together', async () => {
    const s = await setup({ handshakeTimeoutMs: 120_000, maxConnectionsPerIp: 3 });
    res.client(await TestClient.connect(s.url));
    res.client(await TestClient.connect(s.url));
    await open(s, PARTIAL);
    expect(await refusedUpgrade(s.url)).toMatchObject({ status: 429 });
  });
});
