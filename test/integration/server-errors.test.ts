/**
 * Bad input and limits: every error code the server sends, on real sockets. After each bad frame
 * the connection (unless closed by design) and the room keep working.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { SignalingServer } from '../../src/server/index.js';
import { Resources, startTestServer, TestClient } from '../helpers/server-harness.js';

describe('server errors and limits', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  const setup = async (overrides: ConfigInput = {}): Promise<SignalingServer> => res.server(await startTestServer(overrides));
  const connect = async (s: SignalingServer): Promise<TestClient> => res.client(await TestClient.connect(s.url));
  const { join } = res;
  /** Proves the connection still works: a ping is answered. */
  const alive = async (c: TestClient): Promise<void> => {
    c.send({ type: 'ping', id: 'alive' });
    expect(await c.next('pong', 3000, (p) => p.re === 'alive')).toMatchObject({ re: 'alive' });
  };

  it('BAD_MESSAGE for invalid JSON, non-objects, missing type and wrong field types; the connection keeps working', async () => {
    const s = await setup();
    const c = await connect(s);
    c.sendRaw('{not json');
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringContaining('invalid JSON') as string });
    c.sendRaw('[1,2]');
    expect((await c.error()).code).toBe('BAD_MESSAGE');
    c.sendRaw('"join"');
    expect((await c.error()).code).toBe('BAD_MESSAGE');
    c.send({ id: 9, room: 'x' });
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 9 });
    c.send({ type: 'join', id: 'j', room: 42 });
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 'j', message: expect.stringContaining('room') as string });
    c.send({ type: 'signal', data: { a: 1 }, to: 5 });
    expect((await c.error()).code).toBe('BAD_MESSAGE');
    c.send({ type: 'signal' });
    expect((await c.error()).code).toBe('BAD_MESSAGE');
    c.send({ type: 'meta', meta: 'loud' });
    expect((await c.error()).code).toBe('BAD_MESSAGE');
    c.send({ type: 'ping', ts: 'now' });
    expect((await c.error()).code).toBe('BAD_MESSAGE');
    await alive(c);
  });

  it('BAD_MESSAGE for a binary frame, without closing', async () => {
    const s = await setup();
    const c = await connect(s);
    c.sendRaw(Buffer.from([1, 2, 3]), true);
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringContaining('binary') as string });
    await alive(c);
  });

  it('UNKNOWN_TYPE names the type and carries re', async () => {
    const s = await setup();
    const c = await connect(s);
    c.send({ type: 'kick', id: 4 });
    expect(await c.error()).toMatchObject({ code: 'UNKNOWN_TYPE', re: 4, message: expect.stringContaining('"kick"') as string });
    await alive(c);
  });

  it('BAD_ROOM for odd, empty and huge room ids', async () => {
    const s = await setup();
    const c = await connect(s);
    for (const room of ['', 'a b', 'a/b', 'é', '../x', 'x'.repeat(129), 'r'.repeat(10_000)]) {
      c.send({ type: 'join', room, id: room.length });
      const e = await c.error();
      expect(e).toMatchObject({ code: 'BAD_ROOM', re: room.length });
      expect(e.message.length).toBeLessThan(200);
    }
    // UUIDs and colons are fine.
    c.send({ type: 'join', room: 'team:42.a_b-c' });
    await c.next('joined');
  });

  it('ROOM_FULL to the joiner only; the members are not disturbed', async () => {
    const s = await setup();
    const { c: a } = await join(s, 'full');
    const { c: b } = await join(s, 'full');
    await a.next('peer-joined');
    const c3 = await connect(s);
    c3.send({ type: 'join', room: 'full', id: 1 });
    expect(await c3.error()).toMatchObject({ code: 'ROOM_FULL', re: 1, message: expect.stringContaining('capacity 2') as string });
    expect(await a.none('peer-joined')).toBe(true);
    a.send({ type: 'signal', data: { still: 'works' } });
    expect((await b.next('signal')).data).toEqual({ still: 'works' });
    // After a refusal the connection may join elsewhere.
    c3.send({ type: 'join', room: 'other' });
    await c3.next('joined');
  });

  it('ALREADY_JOINED for a second join; NOT_JOINED for signal, meta and leave before joining', async () => {
    const s = await setup();
    const c = await connect(s);
    c.send({ type: 'signal', data: {}, id: 1 });
    expect(await c.error()).toMatchObject({ code: 'NOT_JOINED', re: 1 });
    c.send({ type: 'meta', meta: {}, id: 2 });
    expect(await c.error()).toMatchObject({ code: 'NOT_JOINED', re: 2 });
    c.send({ type: 'leave', id: 3 });
    expect(await c.error()).toMatchObject({ code: 'NOT_JOINED', re: 3 });
    c.send({ type: 'join', room: 'one' });
    await c.next('joined');
    c.send({ type: 'join', room: 'two', id: 4 });
    expect(await c.error()).toMatchObject({ code: 'ALREADY_JOINED', re: 4 });
  });

  it('UNKNOWN_PEER for a to that is not in the room (or is yourself)', async () => {
    const s = await setup();
    const { c: a, joined: ja } = await join(s, 'p1');
    const { joined: jb } = await join(s, 'p2');
    a.send({ type: 'signal', to: jb.self.id, data: {}, id: 1 });
    expect(await a.error()).toMatchObject({ code: 'UNKNOWN_PEER', re: 1 });
    a.send({ type: 'signal', to: ja.self.id, data: {}, id: 2 });
    expect(await a.error()).toMatchObject({ code: 'UNKNOWN_PEER', re: 2 });
  });

  it('BAD_MESSAGE naming the maximum when a join asks for more than rooms.maxCapacity', async () => {
    const s = await setup({ rooms: { maxCapacity: 4 } });
    const c = await connect(s);
    c.send({ type: 'join', room: 'big', capacity: 5, id: 1 });
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 1, message: expect.stringContaining('maximum of 4') as string });
    c.send({ type: 'join', room: 'big', capacity: 4 });
    expect((await c.next('joined')).capacity).toBe(4);
  });

  it('TOO_LARGE and close 1009 for a frame over limits.maxFrameBytes; the room keeps working', async () => {
    const s = await setup({ limits: { maxFrameBytes: 4096 } });
    const { c: a } = await join(s, 'big');
    const { c: b } = await join(s, 'big');
    a.send({ type: 'signal', data: { blob: 'x'.repeat(5000) } });
    expect(await a.error()).toMatchObject({ code: 'TOO_LARGE' });
    expect((await a.waitClosed()).code).toBe(CloseCode.TOO_LARGE);
    await b.next('peer-left');
    await alive(b);
  });

  it('closes with 1009 (no reply) for a frame far over the limit, before buffering it', async () => {
    const s = await setup({ limits: { maxFrameBytes: 4096 } });
    const { c, joined } = await join(s, 'huge');
    const { c: other } = await join(s, 'huge');
    c.sendRaw('x'.repeat(100_000));
    expect((await c.waitClosed()).code).toBe(CloseCode.TOO_LARGE);
    // A protocol violation is not a dropped connection: no resume reservation.
    expect(await other.next('peer-left')).toMatchObject({ peer: joined.self.id, reason: 'disconnect' });
  });

  it('RATE_LIMITED over the message rate, and close 4008 when flooding persists', async () => {
    const s = await setup({ limits: { messagesPerSecond: 1, burst: 5, floodStrikes: 3 } });
    const c = await connect(s);
    for (let i = 0; i < 6; i++) c.send({ type: 'ping', id: i });
    for (let i = 0; i < 5; i++) await c.next('pong');
    expect(await c.error()).toMatchObject({ code: 'RATE_LIMITED', re: 5 });
    for (let i = 0; i < 10; i++) c.send({ type: 'ping' });
    expect((await c.waitClosed()).code).toBe(CloseCode.RATE_LIMITED);
  });

  it('refuses connections over limits.maxConnectionsPerIp with HTTP 429', async () => {
    const s = await setup({ limits: { maxConnectionsPerIp: 2 } });
    await connect(s);
    const b = await connect(s);
    await expect(TestClient.open(s.url)).rejects.toThrow(/429/);
    await b.close();
    // The slot is released on close.
    await connect(s);
  });

  it('drops a client that does not read instead of growing its send buffer; its room sees disconnect', async () => {
    const s = await setup({ limits: { sendBufferBytes: 1024, messagesPerSecond: 100_000, burst: 100_000 } });
    const { c: reader, joined: jr } = await join(s, 'slow');
    const { c: sender } = await join(s, 'slow');
    await reader.next('ready');
    // Stop reading: the kernel buffers fill, then the server's send buffer passes the bound.
    reader.ws.pause();
    const blob = 'y'.repeat(60_000);
    for (let i = 0; i < 400; i++) sender.send({ type: 'signal', data: { blob } });
    expect(await sender.next('peer-left', 10_000)).toMatchObject({ peer: jr.self.id, reason: 'disconnect' });
    reader.ws.resume();
    // The server terminated the socket: no close frame could be read behind the unread data.
    expect((await reader.waitClosed(5000)).code).toBe(1006);
    await alive(sender);
    expect(await s.metrics()).toMatch(/sigctl_connections 1$/m);
  });
});
