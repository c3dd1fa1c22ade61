/**
 * The operator's kick and room close (SignalingServer.kick / closeRoom) on one node: the member gets
 * error KICKED and close 4014, its resume token is void, the others get peer-left `kicked`; an away
 * (resume-reserved) member is kicked too; and the room events (join, ready, meta, leave, finish)
 * come once each, in order.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SignalClient } from '../../src/client/index.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { nextEvent } from '../helpers/peer-timeout.js';
import { EventLog } from '../helpers/room-events.js';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';

/** A pino destination keeping the server's log lines, to wait for one (the server's own account of its state). */
class LogLines extends Writable {
  private text = '';
  private waiters: Array<() => void> = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    for (const w of [...this.waiters]) w();
    done();
  }
  waitFor(needle: string, ms = 3000): Promise<void> {
    let waiter: (() => void) | undefined;
    const seen = new Promise<void>((resolve) => {
      waiter = () => {
        if (this.text.includes(needle)) resolve();
      };
      this.waiters.push(waiter);
      waiter();
    });
    return within(seen, ms, `log line ${needle}`).finally(() => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    });
  }
}

describe('kick and closeRoom (one node)', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  const { join } = res;

  it('kicks a live member: KICKED and 4014 for it, peer-left kicked for the others, its token void', async () => {
    const s = res.server(await startTestServer({ rooms: { resumeGraceMs: 5000 } }));
    const { c: a } = await join(s, 'k');
    const { c: b, joined: jb } = await join(s, 'k');
    expect(await s.kick('k', jb.self.id)).toBe('kicked');
    expect(await b.error()).toMatchObject({ code: 'KICKED' });
    expect((await b.waitClosed()).code).toBe(CloseCode.KICKED);
    expect(await a.next('peer-left')).toEqual({ type: 'peer-left', room: 'k', peer: jb.self.id, reason: 'kicked' });

    const { c: b2 } = { c: res.client(await TestClient.connect(s.url)) };
    b2.send({ type: 'join', room: 'k', resume: jb.resumeToken });
    expect(await b2.error()).toMatchObject({ code: 'RESUME_FAILED' });
    const rejoined = await b2.next('joined');
    expect(rejoined.self.id).not.toBe(jb.self.id);
    expect(await s.kick('k', jb.self.id)).toBe('not-found');
    expect(await s.kick('nowhere', 'nobody')).toBe('not-found');
  });

  it('kicks an away member: no grace left, its token void, the others told once', async () => {
    const lines = new LogLines();
    const s = res.server(await startTestServer({ rooms: { resumeGraceMs: 10_000 } }, { logger: pino({ level: 'info' }, lines) }));
    const { c: a } = await join(s, 'away');
    const { c: b, joined: jb } = await join(s, 'away');
    b.drop();
    await lines.waitFor('"event":"reserved"');
    expect(await s.kick('away', jb.self.id)).toBe('kicked');
    expect(await a.next('peer-left')).toEqual({ type: 'peer-left', room: 'away', peer: jb.self.id, reason: 'kicked' });
    const b2 = res.client(await TestClient.connect(s.url));
    b2.send({ type: 'join', room: 'away', resume: jb.resumeToken });
    expect(await b2.error()).toMatchObject({ code: 'RESUME_FAILED' });
    await b2.next('joined');
  });

  it('closeRoom kicks every member and counts them; another room is untouched', async () => {
    const s = res.server(await startTestServer());
    const members = [await join(s, 'c', { capacity: 3 }), await join(s, 'c'), await join(s, 'c')];
    const { c: other } = await join(s, 'elsewhere');
    expect(await s.closeRoom('c')).toBe(3);
    for (const { c } of members) {
      expect(await c.error()).toMatchObject({ code: 'KICKED' });
      expect((await c.waitClosed()).code).toBe(CloseCode.KICKED);
    }
    expect(await s.closeRoom('c')).toBe(0);
    other.send({ type: 'ping', id: 'still-here' });
    expect(await other.next('pong')).toMatchObject({ re: 'still-here' });
  });

  it('emits each room event once, in order: started, joined, joined, ready, updated, resumed, left, left, finished', async () => {
    const log = new EventLog();
    const s = res.server(await startTestServer({ rooms: { resumeGraceMs: 5000 } }, { events: log.sink('n1') }));
    const { c: a, joined: ja } = await join(s, 'e', { name: 'alice' });
    const { c: b, joined: jb } = await join(s, 'e', { name: 'bob' });
    b.send({ type: 'meta', meta: { mic: false } });
    await b.next('peer-updated');
    b.drop();
    const b2 = res.client(await TestClient.connect(s.url));
    b2.send({ type: 'join', room: 'e', resume: jb.resumeToken });
    await b2.next('joined');
    b2.send({ type: 'leave' });
    await b2.next('left');
    await a.close();
    await log.waitFor('room.finished', (e) => e.type === 'room.finished' && e.room === 'e');
    expect(log.kinds('e')).toEqual([
      'room.started',
      'member.joined',
      'member.joined',
      'room.ready',
      'member.updated',
      'member.resumed',
      'member.left:leave',
      'member.left:disconnect',
      'room.finished',
    ]);
    const ev = log.events;
    expect(ev[1]).toMatchObject({ type: 'member.joined', member: { id: ja.self.id, name: 'alice' }, members: 1 });
    expect(ev[2]).toMatchObject({ type: 'member.joined', member: { id: jb.self.id, name: 'bob' }, members: 2 });
    expect(ev[4]).toMatchObject({ type: 'member.updated', member: { id: jb.self.id, meta: { mic: false } }, members: 2 });
    expect(ev[5]).toMatchObject({ type: 'member.resumed', member: { id: jb.self.id }, members: 2 });
    expect(ev[6]).toMatchObject({ member: { id: jb.self.id }, members: 1 });
    expect(ev[7]).toMatchObject({ member: { id: ja.self.id }, members: 0 });
  });

  it('a kicked SignalClient closes instead of reconnecting (4014 is not retryable)', async () => {
    const s = res.server(await startTestServer({ rooms: { resumeGraceMs: 5000 } }));
    const sc = new SignalClient({ url: s.url, connectTimeoutMs: 2000, requestTimeoutMs: 2000, reconnect: { baseMs: 10, maxAttempts: 5 } });
    try {
      await sc.connect();
      const joined = await sc.join({ room: 'sc' });
      let reconnects = 0;
      sc.on('reconnecting', () => (reconnects += 1));
      const closed = nextEvent(sc, 'closed', 3000);
      expect(await s.kick('sc', joined.self.id)).toBe('kicked');
      await closed;
      expect(reconnects).toBe(0);
      expect(sc.state).toBe('closed');
    } finally {
      await sc.close();
    }
  });

  it('a sink that throws does not disturb the room', async () => {
    const s = res.server(
      await startTestServer(
        {},
        {
          events: () => {
            throw new Error('sink fault');
          },
        },
      ),
    );
    const { c: a } = await join(s, 't');
    const { joined: jb } = await join(s, 't');
    expect(await a.next('peer-joined')).toMatchObject({ peer: { id: jb.self.id } });
    expect(await s.kick('t', jb.self.id)).toBe('kicked');
    expect(await a.next('peer-left')).toMatchObject({ reason: 'kicked' });
  });
});
