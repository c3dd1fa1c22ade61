/**
 * The relay hot path on a real server: a signal's `data` bytes are carried as the sender wrote
 * them inside a frame whose `from` the server sets; the same frame goes to every recipient; log
 * lines about a connection still carry conn, room and member although no child logger is kept.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { createServerLogger } from '../../src/server/index.js';
import { Resources, startTestServer, TestClient, within } from '../helpers/server-harness.js';

/** The next raw text frame a client receives whose text matches `test`. */
function nextRaw(c: TestClient, test: (text: string) => boolean, ms = 3000): Promise<string> {
  return within(
    new Promise<string>((resolve) => {
      const on = (data: Buffer, isBinary: boolean): void => {
        const text = data.toString();
        if (isBinary || !test(text)) return;
        c.ws.off('message', on);
        resolve(text);
      };
      c.ws.on('message', on);
    }),
    ms,
    'a raw frame',
  );
}

describe('server relay hot path', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  const start = async (deps = {}): Promise<SignalingServer> => res.server(await startTestServer({ heartbeatMs: 15_000, rooms: { capacity: 3, maxCapacity: 3 } }, deps));

  it('relays data bytes as sent (spacing, escapes, duplicate keys) with from set by the server', async () => {
    const server = await start();
    const { c: a, joined: ja } = await TestClient.join(server.url, 'raw');
    const { c: b } = await TestClient.join(server.url, 'raw');
    const frames = [
      ' { "type" : "signal" , "data" : { "sdp" : "v=0\\r\\n" , "n" : [ 1 , 2 ] } } ',
      '{"type":"signal","data":"stale","data":{"last":"wins"}}',
      '{"type":"signal","d\\u0061ta":{"key":"escaped"},"id":3}',
      '{"type":"signal","data":"ünïcødé 🎉 \\ud83c\\udf89"}',
      '{"type":"signal","data":{"n":12345678901234567890123}}',
      '{"type":"signal","data":1,"from":"spoofed"}',
    ];
    for (const text of frames) {
      const got = nextRaw(b, (t) => t.includes('"type":"signal"'));
      a.sendRaw(text);
      const raw = await got;
      const sent = JSON.parse(text) as { data: unknown };
      expect(raw.startsWith(`{"type":"signal","from":${JSON.stringify(ja.self.id)},"data":`), raw).toBe(true);
      expect(JSON.parse(raw), text).toEqual({ type: 'signal', from: ja.self.id, data: sent.data });
    }
    // The number's digits travel as written: nothing was re-encoded on the way.
    const big = nextRaw(b, (t) => t.includes('"n":'));
    a.sendRaw('{"type":"signal","data":{"n":12345678901234567890123}}');
    expect(await big).toContain('12345678901234567890123');
    expect(a.invalid).toEqual([]);
  });

  it('broadcasts one signal to every other member, and counts each delivery in /metrics', async () => {
    const server = await start();
    const { c: a, joined: ja } = await TestClient.join(server.url, 'fan', { capacity: 3 });
    const { c: b } = await TestClient.join(server.url, 'fan');
    const { c: c3 } = await TestClient.join(server.url, 'fan');
    for (let i = 0; i < 5; i++) a.sendRaw(`{"type":"signal","data":{"i":${i}}}`);
    for (const peer of [b, c3]) {
      for (let i = 0; i < 5; i++) expect(await peer.next('signal')).toEqual({ type: 'signal', from: ja.self.id, data: { i } });
    }
    expect(await a.none('signal')).toBe(true);
    expect(await server.metrics()).toMatch(/^sigctl_messages_relayed_total 10$/m);
    // A scrape adds what was counted since the last one, once.
    a.sendRaw('{"type":"signal","data":0}');
    await b.next('signal');
    await c3.next('signal');
    expect(await server.metrics()).toMatch(/^sigctl_messages_relayed_total 12$/m);
  });

  it('after leave and a join elsewhere, signals go to the new room only (the cached room map is checked)', async () => {
    const server = await start();
    const { c: a, joined: ja } = await TestClient.join(server.url, 'first');
    const { c: b } = await TestClient.join(server.url, 'first');
    a.send({ type: 'signal', data: 'one' });
    expect((await b.next('signal')).data).toBe('one');
    a.send({ type: 'leave' });
    await a.next('left');
    const { c: c2 } = await TestClient.join(server.url, 'second');
    a.send({ type: 'join', room: 'second' });
    await a.next('joined');
    a.send({ type: 'signal', data: 'two' });
    expect(await c2.next('signal')).toEqual({ type: 'signal', from: ja.self.id, data: 'two' });
    expect(await b.none('signal')).toBe(true);
  });

  it('frees a per-address slot exactly once per connection (upgrade listeners handed over to ws)', async () => {
    const server = res.server(await startTestServer({ limits: { maxConnectionsPerIp: 2 } }));
    const a = res.client(await TestClient.connect(server.url));
    const b = res.client(await TestClient.connect(server.url));
    await b.close();
    const c = res.client(await TestClient.connect(server.url));
    // a and c hold both slots: a double release on b's close would let a third one in.
    await expect(TestClient.open(server.url)).rejects.toThrow(/429/);
    await c.close();
    res.client(await TestClient.connect(server.url));
    expect(a.invalid).toEqual([]);
  });

  it('log lines about a connection carry conn, and room and member once joined', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const server = await start({ logger: createServerLogger('debug', sink) });
    const { c: a, joined } = await TestClient.join(server.url, 'logs');
    a.send({ type: 'signal', data: 1 }); // alone in the room: relayed to nobody
    a.send({ type: 'leave' });
    await a.next('left');
    a.send({ type: 'ping' }); // not joined any more: an error line without room
    a.send({ type: 'meta', meta: {} });
    await a.error();
    const id = joined.self.id;
    const of = (event: string): Record<string, unknown> | undefined => lines.find((l) => l.event === event);
    expect(of('connected')).toMatchObject({ conn: id });
    expect(of('connected')).not.toHaveProperty('room');
    expect(of('joined')).toMatchObject({ conn: id, room: 'logs', member: id });
    expect(of('left')).toMatchObject({ conn: id, room: 'logs' });
    expect(of('error-sent')).toMatchObject({ conn: id, code: 'NOT_JOINED' });
    expect(of('error-sent')).not.toHaveProperty('member');
  });
});
