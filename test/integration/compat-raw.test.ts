/**
 * The raw relays (`compat.raw`, `compat.broadcast`) with plain WebSocket clients: room per path,
 * broadcast paths, frames verbatim, frames sent at once after open, rooms shared with protocol v1,
 * and the refusals (bad room id, full room, binary, too large, switched off).
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SignalingServer } from '../../src/server/index.js';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';

const res = new Resources();
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await res.closeAll();
});

/** A plain WebSocket client that queues text frames and remembers how it was closed. */
class Raw {
  readonly frames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private wake = (): void => undefined;
  constructor(readonly ws: WebSocket) {
    sockets.push(ws);
    ws.on('message', (d, isBinary) => {
      this.frames.push(isBinary ? `<binary>` : (d as Buffer).toString());
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => undefined);
  }

  static async open(url: string, beforeOpen?: (ws: WebSocket) => void): Promise<Raw> {
    const ws = new WebSocket(url);
    const raw = new Raw(ws);
    await within(new Promise((resolve, reject) => ws.once('open', resolve).once('unexpected-response', (_q, r) => reject(new Error(`HTTP ${r.statusCode}`)))), 3000, `open ${url}`);
    beforeOpen?.(ws);
    return raw;
  }

  next(timeoutMs = 3000): Promise<string> {
    return within(
      new Promise<string>((resolve) => {
        const check = (): void => {
          if (this.frames.length === 0) return;
          this.wake = () => undefined;
          resolve(this.frames.shift()!);
        };
        this.wake = check;
        check();
      }),
      timeoutMs,
      'a relayed frame',
    );
  }
}

async function server(compat: ConfigInput['compat'], extra: ConfigInput = {}): Promise<{ s: SignalingServer; base: string }> {
  const s = res.server(await startTestServer({ compat, ...extra }));
  return { s, base: s.url.replace(/\/ws$/, '') };
}

/** A v1 member of `room` whose peer-joined frames prove the raw clients' joins completed. */
async function observer(s: SignalingServer, room: string, capacity = 4): Promise<{ joins: (n: number) => Promise<void> }> {
  const { c } = await TestClient.join(s.url, room, { capacity });
  res.client(c);
  return {
    joins: async (n) => {
      for (let i = 0; i < n; i++) await c.next('peer-joined');
    },
  };
}

describe('raw room relay (/room/<id>)', () => {
  it('relays text frames verbatim to the other sessions of the room, JSON or not', async () => {
    const { s, base } = await server({ raw: true }, { rooms: { capacity: 2, maxCapacity: 4 } });
    const watch = await observer(s, 'abc-123');
    const a = await Raw.open(`${base}/room/abc-123`);
    const b = await Raw.open(`${base}/room/abc-123`);
    await watch.joins(2);
    a.ws.send('{"type": "offer",  "sdp": "v=0\\r\\n"}');
    expect(await b.next()).toBe('{"type": "offer",  "sdp": "v=0\\r\\n"}');
    b.ws.send('hello, not json');
    expect(await a.next()).toBe('hello, not json');
    b.ws.send('"a json string"');
    expect(await a.next()).toBe('a json string');
    // Nothing came back to a sender: the other's frames are the only ones queued.
    expect(a.frames).toEqual([]);
    expect(b.frames).toEqual([]);
  });

  it('keeps frames sent right after the socket opened, before the join completed, in order', async () => {
    const { s, base } = await server({ raw: true });
    const watch = await observer(s, 'early');
    const b = await Raw.open(`${base}/room/early`);
    await watch.joins(1);
    await Raw.open(`${base}/room/early`, (ws) => {
      for (let i = 0; i < 5; i++) ws.send(JSON.stringify({ n: i }));
    });
    for (let i = 0; i < 5; i++) expect(JSON.parse(await b.next())).toEqual({ n: i });
  });

  it('shares the room with protocol v1 members', async () => {
    const { s, base } = await server({ raw: true });
    const { c: v1, joined } = await TestClient.join(s.url, 'shared', { name: 'vera' });
    res.client(v1);
    const raw = await Raw.open(`${base}/room/shared`);
    const pj = await v1.next('peer-joined');
    raw.ws.send('{"x":1}');
    expect(await v1.next('signal')).toEqual({ type: 'signal', from: pj.peer.id, data: { x: 1 } });
    raw.ws.send('plain text');
    expect(await v1.next('signal')).toEqual({ type: 'signal', from: pj.peer.id, data: 'plain text' });
    v1.send({ type: 'signal', data: { y: [2] } });
    expect(await raw.next()).toBe('{"y":[2]}');
    v1.send({ type: 'signal', to: pj.peer.id, data: 'bare' });
    expect(await raw.next()).toBe('bare');
    expect(joined.peers).toEqual([]);
  });

  it('refuses a bad room id at the upgrade with 400 and a JSON reason', async () => {
    const { base } = await server({ raw: true });
    const ws = new WebSocket(`${base}/room/bad%20room!`);
    sockets.push(ws);
    const refusal = await within(
      new Promise<{ status: number; body: string }>((resolve) => {
        ws.on('error', () => undefined);
        ws.on('unexpected-response', (_req, r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        });
      }),
      3000,
      'the refusal',
    );
    expect(refusal.status).toBe(400);
    expect(JSON.parse(refusal.body)).toMatchObject({ error: { code: 'BAD_ROOM' } });
  });

  it('closes a full room with 4013 ROOM_FULL, a binary frame with 1003, an oversized frame with 1009', async () => {
    const { s, base } = await server({ raw: true }, { rooms: { capacity: 2, maxCapacity: 3 }, limits: { maxFrameBytes: 1024 } });
    const watch = await observer(s, 'full', 3);
    const a = await Raw.open(`${base}/room/full`);
    await Raw.open(`${base}/room/full`);
    await watch.joins(2);
    const third = await Raw.open(`${base}/room/full`);
    expect(await within(third.closed, 3000, 'close')).toEqual({ code: 4013, reason: 'ROOM_FULL' });

    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await within(a.closed, 3000, 'close')).code).toBe(1003);

    const b = await Raw.open(`${base}/room/other`);
    b.ws.send('x'.repeat(3000));
    expect((await within(b.closed, 3000, 'close')).code).toBe(1009);
  });

  it('is off unless switched on: /room/<id> is 404', async () => {
    const { base } = await server({});
    await expect(Raw.open(`${base}/room/abc`)).rejects.toThrow(/HTTP 404/);
  });
});

describe('broadcast relays (/signal, /socket)', () => {
  it('sends every frame to every other session on the same path, and only that path', async () => {
    const { s, base } = await server({ broadcast: true }, { rooms: { capacity: 2, maxCapacity: 8 } });
    const watch = await observer(s, 'broadcast:signal');
    const a = await Raw.open(`${base}/signal`);
    const b = await Raw.open(`${base}/signal`);
    const c = await Raw.open(`${base}/signal`);
    await watch.joins(3);
    const other = await Raw.open(`${base}/socket`);
    a.ws.send('{"type":"offer"}');
    expect(await b.next()).toBe('{"type":"offer"}');
    expect(await c.next()).toBe('{"type":"offer"}');
    c.ws.send('from c');
    expect(await a.next()).toBe('from c');
    expect(await b.next()).toBe('from c');
    other.ws.send('socket only');
    // The /signal sessions got nothing from /socket: the next frame each gets is this marker.
    b.ws.send('marker');
    expect(await a.next()).toBe('marker');
    expect(await c.next()).toBe('marker');
    expect(other.frames).toEqual([]);
  });
});
