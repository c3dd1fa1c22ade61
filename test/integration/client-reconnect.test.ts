/**
 * SignalClient reconnect against a real server, with a TCP proxy in between whose connections the
 * test cuts (the server "drops the socket"): resume keeps the member id and delivers the signals
 * sent meanwhile; a server that stays away makes the client give up with CONNECTION_LOST; a
 * deliberate leave never leads to a reconnect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignalClient, type SignalClientOptions } from '../../src/client/index.js';
import type { SignalingServer } from '../../src/server/index.js';
import { startDropProxy, startPeerTestServer, type DropProxy } from '../helpers/peer-server.js';
import { RecordingClock } from '../helpers/clock.js';
import { nextEvent, within } from '../helpers/peer-timeout.js';

let server: SignalingServer | undefined;
let proxy: DropProxy | undefined;
let clients: SignalClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await proxy?.close();
  proxy = undefined;
  await server?.close();
  server = undefined;
});

function client(url: string, options: Partial<SignalClientOptions> = {}): SignalClient {
  const c = new SignalClient({ url, connectTimeoutMs: 2_000, requestTimeoutMs: 2_000, random: () => 0.5, ...options });
  clients.push(c);
  return c;
}

describe('SignalClient reconnect', () => {
  it('resumes with the same id after the socket is dropped, and receives the signals sent meanwhile', async () => {
    server = await startPeerTestServer({ rooms: { resumeGraceMs: 5_000 } });
    proxy = await startDropProxy(server.url);
    const a = client(proxy.url, { reconnect: { baseMs: 200, capMs: 400, maxAttempts: 5 } });
    const b = client(server.url, { reconnect: false });
    await a.connect();
    const ja = await a.join({ room: 'resume-1', name: 'alice' });
    await b.connect();
    await b.join({ room: 'resume-1', name: 'bob' });

    const leftSeen: unknown[] = [];
    b.on('peer-left', (m) => leftSeen.push(m));
    const reconnecting = nextEvent(a, 'reconnecting', 3_000);
    const resumed = nextEvent(a, 'resumed', 5_000);
    const queued = nextEvent(a, 'signal', 5_000);
    proxy.dropAll();
    const [info] = await reconnecting;
    expect(info.attempt).toBe(1);
    expect(info.cause.code).toBe('CONNECTION_LOST');
    // Sent while a is away: the server queues it for the reserved member.
    b.signal({ during: 'gap' }, ja.self.id);
    const [joined] = await resumed;
    expect(joined.self.id).toBe(ja.self.id);
    expect(joined.resumed).toBe(true);
    expect((await queued)[0].data).toEqual({ during: 'gap' });
    expect(a.state).toBe('joined');
    expect(leftSeen).toEqual([]);
  });

  it('gives up with CONNECTION_LOST after maxAttempts while the server stays away', async () => {
    server = await startPeerTestServer({ rooms: { resumeGraceMs: 300 } });
    proxy = await startDropProxy(server.url);
    const a = client(proxy.url, { reconnect: { baseMs: 20, capMs: 50, maxAttempts: 3 } });
    const b = client(server.url, { reconnect: false });
    await a.connect();
    await a.join({ room: 'gone' });
    await b.connect();
    await b.join({ room: 'gone' });
    const attempts: number[] = [];
    a.on('reconnecting', (e) => attempts.push(e.attempt));
    const closed = nextEvent(a, 'closed', 5_000);
    const timeoutLeft = nextEvent(b, 'peer-left', 5_000);
    proxy.setRefusing(true);
    proxy.dropAll();
    const [{ error }] = await closed;
    expect(error?.code).toBe('CONNECTION_LOST');
    expect(error?.message).toMatch(/gave up reconnecting after 3 attempts/);
    expect(attempts).toEqual([1, 2, 3]);
    expect(a.state).toBe('closed');
    // The server's view: the reserved member timed out.
    expect((await timeoutLeft)[0].reason).toBe('timeout');
  });

  it('does not reconnect after a deliberate leave', async () => {
    server = await startPeerTestServer();
    proxy = await startDropProxy(server.url);
    const clock = new RecordingClock();
    const a = client(proxy.url, { reconnect: { baseMs: 10, maxAttempts: 5 }, clock });
    await a.connect();
    await a.join({ room: 'leaving' });
    await a.leave();
    let reconnects = 0;
    a.on('reconnecting', () => (reconnects += 1));
    const closed = nextEvent(a, 'closed', 3_000);
    proxy.dropAll();
    await closed;
    // No reconnect is scheduled (it would be a pending timer), none happened.
    expect(clock.pending).toBe(0);
    expect(reconnects).toBe(0);
    expect(a.state).toBe('closed');
  });

  it('reconnects after the server says bye, waiting the suggested reconnectMs', async () => {
    server = await startPeerTestServer({ drainMs: 50, reconnectMs: 150 });
    const a = client(server.url, { reconnect: { baseMs: 10, maxAttempts: 1 } });
    await a.connect();
    await a.join({ room: 'draining' });
    const bye = nextEvent(a, 'bye', 3_000);
    const reconnecting = nextEvent(a, 'reconnecting', 3_000);
    const drained = server.drain();
    expect((await bye)[0].reconnectMs).toBe(150);
    expect((await reconnecting)[0].delayMs).toBe(150);
    await within(drained, 3_000, 'drain');
  });

  it('notices a silent half-open connection with its heartbeat watchdog and resumes', async () => {
    server = await startPeerTestServer({ heartbeatMs: 200, rooms: { resumeGraceMs: 5_000 } });
    proxy = await startDropProxy(server.url);
    const a = client(proxy.url, { reconnect: { baseMs: 50, capMs: 100, maxAttempts: 5 } });
    await a.connect();
    const ja = await a.join({ room: 'silent' });
    const reconnecting = nextEvent(a, 'reconnecting', 3_000);
    const resumed = nextEvent(a, 'resumed', 5_000);
    proxy.stallAll(); // no FIN, no RST: only the missing heartbeats tell
    expect((await reconnecting)[0].cause.code).toBe('CONNECTION_LOST');
    expect((await resumed)[0].self.id).toBe(ja.self.id);
  });
});
