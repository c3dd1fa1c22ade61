/**
 * STOMP 1.2 over WebSocket (`compat.stomp`) with an unmodified @stomp/stompjs client: connect,
 * join, the member list, READY once, OFFER/ANSWER/CANDIDATE relay, capacity, duplicate join,
 * leave, disconnect, receipts, heart-beats, ERROR on bad frames, tokens, and rooms shared with
 * protocol v1 members.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/auth/mint.js';
import { createAuthenticator } from '../../src/auth/index.js';
import type { SignalingServer } from '../../src/server/index.js';
import { Resources, startTestServer, testConfig, TestClient, within } from '../helpers/server-harness.js';
import { StompPeer } from '../helpers/stomp-client.js';

const res = new Resources();
const peers: StompPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
  await res.closeAll();
});

async function stompServer(overrides: Parameters<typeof startTestServer>[0] = {}, deps: Parameters<typeof startTestServer>[1] = {}): Promise<SignalingServer> {
  return res.server(await startTestServer({ compat: { stomp: true }, ...overrides }, deps));
}

async function peer(server: SignalingServer, room: string, headers: Record<string, string> = {}): Promise<StompPeer> {
  const p = new StompPeer(server.url, headers);
  peers.push(p);
  await p.connect();
  p.subscribeAll(room);
  return p;
}

/** Joins `room` with a receipt (so its subscriptions are in place first) and returns its sid. */
async function join(p: StompPeer, room: string, displayName: string): Promise<string> {
  await p.sendWithReceipt(`/app/rooms/${room}/join`, { roomId: room, displayName });
  const me = await p.next('/user/queue/me', (b) => typeof b === 'object' && b !== null && 'sid' in b);
  return (JSON.parse(me.body) as { sid: string }).sid;
}

/** A raw STOMP conversation over a plain WebSocket, for what stompjs would never send. */
async function rawStomp(server: SignalingServer, protocols = ['v12.stomp']): Promise<{ ws: WebSocket; frames: string[]; next: () => Promise<string>; closed: Promise<number> }> {
  const ws = new WebSocket(server.url, protocols);
  const frames: string[] = [];
  let wake = (): void => undefined;
  ws.on('message', (d) => {
    frames.push((d as Buffer).toString());
    wake();
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 3000, 'raw STOMP socket open');
  const next = (): Promise<string> =>
    within(
      new Promise<string>((resolve) => {
        const check = (): void => {
          if (frames.length === 0) return;
          wake = () => undefined;
          resolve(frames.shift()!);
        };
        wake = check;
        check();
      }),
      3000,
      'a frame from the server',
    );
  return { ws, frames, next, closed };
}

describe('STOMP compat with @stomp/stompjs', () => {
  it('connects on the v1 path by subprotocol, relays a 1:1 call, sends READY once and the member list on every change', async () => {
    const server = await stompServer();
    const a = await peer(server, 'call-1');
    expect(a.ws?.protocol).toBe('v12.stomp');
    const sidA = await join(a, 'call-1', 'alice');
    expect(JSON.parse((await a.next('/topic/rooms/call-1/members')).body)).toEqual([{ sid: sidA, displayName: 'alice' }]);

    const b = await peer(server, 'call-1');
    const sidB = await join(b, 'call-1', 'bob');
    const both = [
      { sid: sidA, displayName: 'alice' },
      { sid: sidB, displayName: 'bob' },
    ];
    expect(JSON.parse((await a.next('/topic/rooms/call-1/members', (m) => Array.isArray(m) && m.length === 2)).body)).toEqual(both);
    expect(JSON.parse((await b.next('/topic/rooms/call-1/members')).body)).toEqual(both);
    expect((await a.signal('call-1', 'READY')).body).toMatchObject({ type: 'READY', offerer: sidB });
    await b.signal('call-1', 'READY');

    const offer = { type: 'OFFER', sid: sidB, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
    b.send('/app/rooms/call-1/signal', offer);
    const gotOffer = await a.signal('call-1', 'OFFER');
    expect(gotOffer.body).toEqual(offer);
    expect(gotOffer.sid).toBe(sidB);
    a.send('/app/rooms/call-1/signal', { type: 'ANSWER', sdp: 'v=0\r\n' });
    expect((await b.signal('call-1', 'ANSWER')).sid).toBe(sidA);
    const candidate = { type: 'CANDIDATE', candidate: { candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 } };
    a.send('/app/rooms/call-1/signal', candidate);
    expect((await b.signal('call-1', 'CANDIDATE')).body).toEqual(candidate);
    // The senders got nothing of their own, and READY came once each: the later CANDIDATE is the marker.
    expect(a.count('/topic/rooms/call-1/signal')).toBe(0);
    expect(b.count('/topic/rooms/call-1/signal', 'READY')).toBe(0);
    expect(b.count('/topic/rooms/call-1/signal', 'OFFER')).toBe(0);
  });

  it('tells a third member the room is full, refuses a duplicate join, and cleans up on leave and on disconnect', async () => {
    const server = await stompServer();
    const a = await peer(server, 'r2');
    const sidA = await join(a, 'r2', 'alice');
    const b = await peer(server, 'r2');
    const sidB = await join(b, 'r2', 'bob');
    const c = await peer(server, 'r2');
    c.send('/app/rooms/r2/join', { roomId: 'r2', displayName: 'carol' });
    expect(JSON.parse((await c.next('/user/queue/system')).body)).toMatchObject({ type: 'ROOM_FULL', code: 'ROOM_FULL' });

    a.send('/app/rooms/r2/join', { roomId: 'r2' });
    expect(JSON.parse((await a.next('/user/queue/system')).body)).toMatchObject({ code: 'ALREADY_JOINED' });

    b.send('/app/rooms/r2/leave', '');
    const leave = await a.signal('r2', 'LEAVE');
    expect(leave.body).toMatchObject({ type: 'LEAVE', sid: sidB, reason: 'leave' });
    expect(JSON.parse((await a.next('/topic/rooms/r2/members', (m) => Array.isArray(m) && m.length === 1)).body)).toEqual([{ sid: sidA, displayName: 'alice' }]);

    // The room has a free place again; carol joins, then disconnects without a leave.
    const sidC = await join(c, 'r2', 'carol');
    await a.next('/topic/rooms/r2/members', (m) => Array.isArray(m) && m.length === 2);
    await c.close();
    expect((await a.signal('r2', 'LEAVE')).body).toMatchObject({ sid: sidC, reason: 'disconnect' });
    expect(JSON.parse((await a.next('/topic/rooms/r2/members', (m) => Array.isArray(m) && m.length === 1)).body)).toEqual([{ sid: sidA, displayName: 'alice' }]);
  });

  it('answers receipts, says where a SEND cannot go, and keeps the session', async () => {
    const server = await stompServer();
    const a = await peer(server, 'r3');
    await a.sendWithReceipt('/app/rooms/r3/signal', { type: 'OFFER' });
    expect(JSON.parse((await a.next('/user/queue/system')).body)).toMatchObject({ code: 'NOT_JOINED' });
    a.send('/app/nowhere', {});
    expect((await a.next('/user/queue/system')).body).toMatch(/no such destination/);
    a.send('/app/rooms/bad room!/join', {});
    expect(JSON.parse((await a.next('/user/queue/system')).body)).toMatchObject({ code: 'BAD_ROOM' });
    await join(a, 'r3', 'alice');
    a.send('/app/rooms/other/signal', { type: 'OFFER' });
    expect(JSON.parse((await a.next('/user/queue/system')).body)).toMatchObject({ code: 'NOT_JOINED' });
    expect(a.errors).toEqual([]);
  });

  it('shares a room with protocol v1 members: bodies arrive as data and data as bodies, one member list', async () => {
    const server = await stompServer();
    const { c: v1, joined } = await TestClient.join(server.url, 'mixed', { name: 'vera' });
    res.client(v1);
    const s = await peer(server, 'mixed');
    const sid = await join(s, 'mixed', 'stan');
    expect(JSON.parse((await s.next('/topic/rooms/mixed/members')).body)).toEqual([
      { sid: joined.self.id, displayName: 'vera' },
      { sid, displayName: 'stan' },
    ]);
    const pj = await v1.next('peer-joined');
    expect(pj.peer).toMatchObject({ id: sid, name: 'stan' });
    await v1.next('ready');
    await s.signal('mixed', 'READY');

    const body = { type: 'OFFER', sdp: 'v=0\r\n', nested: { a: [1, 2, { b: null }] } };
    s.send('/app/rooms/mixed/signal', body);
    const sig = await v1.next('signal');
    expect(sig).toEqual({ type: 'signal', from: sid, data: body });

    const data = { description: { type: 'answer', sdp: 'v=0\r\n' } };
    v1.send({ type: 'signal', to: sid, data });
    const m = await s.next('/topic/rooms/mixed/signal', (b) => typeof b === 'object' && b !== null && 'description' in b);
    expect(JSON.parse(m.body)).toEqual(data);
    expect(m.headers.sid).toBe(joined.self.id);

    v1.send({ type: 'leave' });
    expect((await s.signal('mixed', 'LEAVE')).sid).toBe(joined.self.id);
  });

  it('takes the token from CONNECT (Authorization or passcode) when the upgrade carried none', async () => {
    const secret = 'stomp-test-secret-0123456789';
    const config = testConfig({ compat: { stomp: true }, auth: { jwt: { secret } } });
    const server = await stompServer({ compat: { stomp: true }, auth: { jwt: { secret } } }, { authenticator: createAuthenticator(config.auth) });
    const { token } = await mintToken({ secret, sub: 'alice', room: 'sec-*', ttlSeconds: 60 });
    const a = await peer(server, 'sec-1', { Authorization: `Bearer ${token}` });
    await join(a, 'sec-1', 'ignored');
    expect(JSON.parse((await a.next('/topic/rooms/sec-1/members')).body)).toEqual([{ sid: expect.any(String) as unknown, displayName: 'alice' }]);
    // The token's room grant holds for STOMP joins too.
    const b = await peer(server, 'elsewhere', { passcode: token });
    b.send('/app/rooms/elsewhere/join', {});
    expect(JSON.parse((await b.next('/user/queue/system')).body)).toMatchObject({ code: 'FORBIDDEN' });

    const refused: Array<Record<string, string>> = [{}, { Authorization: 'Bearer not.a.jwt' }];
    for (const headers of refused) {
      const bad = new StompPeer(server.url, headers);
      peers.push(bad);
      await expect(bad.connect()).rejects.toThrow(/closed before CONNECTED/);
      expect(bad.errors[0]?.message).toMatch(/token/);
      expect((await bad.waitClosed()).code).toBe(1008);
    }
  });
});

describe('STOMP compat: the protocol edges', () => {
  it('answers a bad frame with ERROR and closes; only CONNECT is accepted first', async () => {
    const server = await stompServer();
    const first = await rawStomp(server);
    first.ws.send('SEND\ndestination:/app/rooms/x/join\n\n\0');
    const err = await first.next();
    expect(err).toMatch(/^ERROR\n/);
    expect(err).toMatch(/message:expected CONNECT, got SEND/);
    expect(await within(first.closed, 3000, 'close')).toBe(1008);

    const bad = await rawStomp(server);
    bad.ws.send('CONNECT\naccept-version:1.2\nhost:x\n\n\0');
    expect(await bad.next()).toMatch(/^CONNECTED\nversion:1\.2\n/);
    bad.ws.send('SEND\ndestination:/a\\t\n\n\0');
    expect(await bad.next()).toMatch(/^ERROR\nmessage:undefined escape sequence/);
    expect(await within(bad.closed, 3000, 'close')).toBe(1008);
  });

  it('relays multi-byte bodies byte for byte, and never passes invalid UTF-8 from a binary frame into a text frame', async () => {
    const server = await stompServer();
    const { c: v1 } = await TestClient.join(server.url, 'bytes', { name: 'vera' });
    res.client(v1);
    const s = await peer(server, 'bytes');
    const sid = await join(s, 'bytes', 'stan');
    await v1.next('peer-joined');

    // Multi-byte characters both ways: content-length counts octets (stompjs reads by it).
    const text = { type: 'OFFER', sdp: 'é ☃ 😀 \u0000 "q"' };
    s.send('/app/rooms/bytes/signal', text);
    expect(await v1.next('signal')).toEqual({ type: 'signal', from: sid, data: text });
    const back = { candidate: { candidate: 'ü 🧊', sdpMid: '0', sdpMLineIndex: 0 } };
    v1.send({ type: 'signal', to: sid, data: back });
    const m = await s.next('/topic/rooms/bytes/signal', (b) => typeof b === 'object' && b !== null && 'candidate' in b);
    expect(JSON.parse(m.body)).toEqual(back);

    // A STOMP client may send binary WebSocket messages; a body that is not UTF-8 must not reach a
    // text frame as it is (a browser would fail the connection): it is decoded with U+FFFD.
    const raw = await rawStomp(server);
    raw.ws.send(Buffer.from('CONNECT\naccept-version:1.2\n\n\0'));
    expect(await raw.next()).toMatch(/^CONNECTED\n/);
    raw.ws.send(Buffer.from('SEND\ndestination:/app/rooms/bytes3/join\nreceipt:j\n\n{"roomId":"bytes3"}\0'));
    expect(await raw.next()).toMatch(/^RECEIPT\nreceipt-id:j\n/);
    const { c: v3 } = await TestClient.join(server.url, 'bytes3', { name: 'v3' });
    res.client(v3);
    const invalid = Buffer.concat([Buffer.from('SEND\ndestination:/app/rooms/bytes3/signal\n\n{"type":"OFFER","sdp":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}\0')]);
    raw.ws.send(invalid);
    expect(await v3.next('signal')).toMatchObject({ type: 'signal', data: { type: 'OFFER', sdp: 'a\ufffd\ufffdb' } });
    raw.ws.close();
  });

  it('counts relayed signals against the rate limit like v1 frames: past the burst they get RATE_LIMITED and go nowhere', async () => {
    const server = await stompServer({ limits: { messagesPerSecond: 1, burst: 8, floodStrikes: 1000 } });
    const { c: v1 } = await TestClient.join(server.url, 'rate', { name: 'vera' });
    res.client(v1);
    const s = await peer(server, 'rate');
    await join(s, 'rate', 'stan');
    await v1.next('peer-joined');
    // The subscriptions and the join took 5 of the 8 tokens; 20 signals at once leave ~17 over.
    for (let i = 0; i < 20; i++) s.send('/app/rooms/rate/signal', { type: 'CANDIDATE', n: i });
    const limited = await s.next('/user/queue/system', (b) => typeof b === 'object' && b !== null && (b as { code?: unknown }).code === 'RATE_LIMITED');
    expect(JSON.parse(limited.body)).toMatchObject({ type: 'RATE_LIMITED', code: 'RATE_LIMITED' });
    expect((await v1.next('signal')).data).toEqual({ type: 'CANDIDATE', n: 0 });
  });

  it('negotiates heart-beats: sends EOLs when idle and closes a client that goes silent', async () => {
    const server = await stompServer({ compat: { stomp: true, stompHeartbeatMs: 100 } });
    const listener = await rawStomp(server);
    listener.ws.send('CONNECT\naccept-version:1.2\nheart-beat:0,100\n\n\0');
    expect(await listener.next()).toMatch(/heart-beat:100,100/);
    expect(await listener.next()).toBe('\n');
    expect(await listener.next()).toBe('\n');

    const silent = await rawStomp(server);
    silent.ws.send('CONNECT\naccept-version:1.2\nheart-beat:100,0\n\n\0');
    await silent.next();
    expect(await within(silent.closed, 3000, 'the silent client to be closed')).toBe(4010);
  });

  it('refuses STOMP with a JSON reason when compat.stomp is off', async () => {
    const server = res.server(await startTestServer());
    const ws = new WebSocket(server.url, ['v12.stomp']);
    const status = await within(
      new Promise<{ status: number; body: string }>((resolve) => {
        ws.on('unexpected-response', (_req, resp) => {
          let body = '';
          resp.on('data', (c: Buffer) => (body += c.toString()));
          resp.on('end', () => resolve({ status: resp.statusCode ?? 0, body }));
        });
        ws.on('error', () => undefined);
      }),
      3000,
      'the refusal',
    );
    expect(status.status).toBe(400);
    expect(JSON.parse(status.body)).toMatchObject({ error: { code: 'BAD_MESSAGE' } });
    expect(status.body).toMatch(/--compat stomp/);
  });
});
