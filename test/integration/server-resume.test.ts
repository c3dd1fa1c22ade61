/**
 * Resume after an unexpected disconnect, and heartbeat expiry: same id back, queued signals in
 * order, bounded queue, grace expiry seen as peer-left `timeout`, and supersession (4011).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { SignalingServer } from '../../src/server/index.js';
import { Resources, startTestServer, TestClient } from '../helpers/server-harness.js';
import { LogCapture } from '../helpers/server-log.js';

describe('server resume and heartbeat', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  const setup = async (overrides: ConfigInput = {}, log = new LogCapture()): Promise<SignalingServer> => res.server(await startTestServer(overrides, { logger: log.logger }));
  const connect = async (s: SignalingServer, options = {}): Promise<TestClient> => res.client(await TestClient.connect(s.url, options));
  const { join } = res;

  it('resumes with the same id; signals sent meanwhile arrive in order; the others see no leave or join', async () => {
    const log = new LogCapture();
    const s = await setup({ rooms: { resumeGraceMs: 5000 } }, log);
    const { c: a, joined: ja } = await join(s, 'r', { name: 'alice', meta: { v: 1 } });
    const { c: b, joined: jb } = await join(s, 'r');
    await a.next('ready');
    await b.next('ready');
    a.drop();
    // The server has seen the drop and holds a's member for resume: signals to it are queued now.
    await log.next('reserved');
    for (let i = 0; i < 5; i++) b.send({ type: 'signal', to: ja.self.id, data: { i } });
    b.send({ type: 'signal', data: { broadcast: true } });
    // The server answers b's marker ping after it has handled (queued) b's signals before it.
    await b.settled();

    const a2 = await connect(s);
    a2.send({ type: 'join', room: 'r', resume: ja.resumeToken, id: 'again' });
    const j2 = await a2.next('joined');
    expect(j2).toMatchObject({ re: 'again', resumed: true, self: ja.self, peers: [jb.self], capacity: 2 });
    expect(j2.resumeToken).not.toBe(ja.resumeToken);
    const got = [];
    for (let i = 0; i < 6; i++) got.push((await a2.next('signal')).data);
    expect(got).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }, { broadcast: true }]);
    expect(await b.none('peer-left')).toBe(true);
    expect(await b.none('peer-joined')).toBe(true);
    expect(await b.none('ready')).toBe(true);

    // Live again: signals flow both ways directly.
    b.send({ type: 'signal', data: 'after' });
    expect((await a2.next('signal')).data).toBe('after');
    a2.send({ type: 'signal', data: 'back' });
    expect(await b.next('signal')).toEqual({ type: 'signal', from: ja.self.id, data: 'back' });
  });

  it('drops the oldest queued signals beyond rooms.resumeQueueMax and tells the resumed client', async () => {
    const log = new LogCapture();
    const s = await setup({ rooms: { resumeGraceMs: 5000, resumeQueueMax: 3 } }, log);
    const { c: a, joined: ja } = await join(s, 'q');
    const { c: b } = await join(s, 'q');
    a.drop();
    await log.next('reserved');
    for (let i = 0; i < 7; i++) b.send({ type: 'signal', data: i });
    await b.settled();
    const a2 = await connect(s);
    a2.send({ type: 'join', room: 'q', resume: ja.resumeToken });
    await a2.next('joined');
    expect(await a2.error()).toMatchObject({ code: 'SIGNALS_DROPPED', message: expect.stringContaining('4 signal') as string });
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await a2.next('signal')).data);
    expect(got).toEqual([4, 5, 6]);
  });

  it('after the grace period the others get peer-left timeout and the token no longer works', async () => {
    const s = await setup({ rooms: { resumeGraceMs: 200 } });
    const { c: a, joined: ja } = await join(s, 'g');
    const { c: b } = await join(s, 'g');
    a.drop();
    expect(await b.next('peer-left', 3000)).toEqual({ type: 'peer-left', room: 'g', peer: ja.self.id, reason: 'timeout' });
    const a2 = await connect(s);
    a2.send({ type: 'join', room: 'g', resume: ja.resumeToken, id: 1 });
    expect(await a2.error()).toMatchObject({ code: 'RESUME_FAILED', re: 1 });
    // ... and it joined as a new member instead.
    const j2 = await a2.next('joined');
    expect(j2.self.id).not.toBe(ja.self.id);
    expect(j2.resumed).toBeUndefined();
  });

  it('with resumeGraceMs 0 a dropped member leaves at once with disconnect', async () => {
    const s = await setup({ rooms: { resumeGraceMs: 0 } });
    const { c: a, joined: ja } = await join(s, 'z');
    const { c: b } = await join(s, 'z');
    a.drop();
    expect(await b.next('peer-left')).toMatchObject({ peer: ja.self.id, reason: 'disconnect' });
  });

  it('RESUME_FAILED for an unknown token or another room', async () => {
    const log = new LogCapture();
    const s = await setup({}, log);
    const { c: a, joined: ja } = await join(s, 'x1');
    a.drop();
    await log.next('reserved');
    const c = await connect(s);
    c.send({ type: 'join', room: 'x2', resume: ja.resumeToken });
    expect((await c.error()).code).toBe('RESUME_FAILED');
    await c.next('joined');
    const d = await connect(s);
    d.send({ type: 'join', room: 'x1', resume: 'nope' });
    expect((await d.error()).code).toBe('RESUME_FAILED');
    await d.next('joined');
    // The token put back after the wrong-room attempt still resumes its own room.
    const e = await connect(s);
    e.send({ type: 'join', room: 'x1', resume: ja.resumeToken });
    expect(await e.next('joined')).toMatchObject({ resumed: true, self: ja.self });
  });

  it('a resume while the old connection still looks alive supersedes it with close 4011', async () => {
    const s = await setup();
    const { c: a, joined: ja } = await join(s, 's');
    const { c: b } = await join(s, 's');
    const a2 = await connect(s);
    a2.send({ type: 'join', room: 's', resume: ja.resumeToken });
    expect(await a2.next('joined')).toMatchObject({ resumed: true, self: ja.self });
    expect((await a.waitClosed()).code).toBe(CloseCode.REPLACED);
    expect(await b.none('peer-left')).toBe(true);
    b.send({ type: 'signal', data: 'to-new' });
    expect((await a2.next('signal')).data).toBe('to-new');
  });

  it('closes a connection that misses two heartbeats (4010) and reserves its member for resume', async () => {
    const s = await setup({ heartbeatMs: 100, rooms: { resumeGraceMs: 400 } });
    const { c: a } = await join(s, 'hb');
    const mute = await connect(s, { autoPong: false });
    mute.send({ type: 'join', room: 'hb' });
    const jm = await mute.next('joined');
    let pingsToA = 0;
    a.ws.on('ping', () => pingsToA++);
    const closed = await mute.waitClosed(3000);
    expect(closed.code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    // A responsive client survives the heartbeats that closed the mute one: pinged, and still open.
    expect(pingsToA).toBeGreaterThanOrEqual(1);
    expect(a.ws.readyState).toBe(a.ws.OPEN);
    // Reserved first (no immediate leave), then timed out.
    expect(await a.next('peer-left', 3000)).toMatchObject({ peer: jm.self.id, reason: 'timeout' });
  });

  it('spares a connection whose frames go both ways its ping; one that only sends is still pinged and closed', async () => {
    const s = await setup({ heartbeatMs: 100, rooms: { resumeGraceMs: 400 } });
    // Neither client answers WebSocket pings.
    const chatty = await connect(s, { autoPong: false });
    chatty.send({ type: 'join', room: 'busy' });
    await chatty.next('joined');
    const sender = await connect(s, { autoPong: false });
    sender.send({ type: 'join', room: 'busy2' });
    await sender.next('joined');
    let pingsToChatty = 0;
    chatty.ws.on('ping', () => pingsToChatty++);
    // chatty's pings are answered by pongs (traffic both ways); sender's broadcasts reach nobody.
    const timer = setInterval(() => {
      chatty.send({ type: 'ping' });
      sender.send({ type: 'signal', data: 'nobody listens' });
    }, 20);
    try {
      expect((await sender.waitClosed(3000)).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
      // Two more heartbeat periods pass while chatty talks: an idle, mute client opened now is
      // closed after them (the event that stands for the time passing), and chatty is still open.
      const idle = await connect(s, { autoPong: false });
      expect((await idle.waitClosed(3000)).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
      expect(chatty.ws.readyState).toBe(chatty.ws.OPEN);
    } finally {
      clearInterval(timer);
    }
    // Quiet now: pinged again, and closed for not answering.
    expect((await chatty.waitClosed(3000)).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    expect(pingsToChatty).toBeGreaterThanOrEqual(2);
  });
});
