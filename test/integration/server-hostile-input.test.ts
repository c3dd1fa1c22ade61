/**
 * Hostile input through a real server: frames nested past the protocol's depth limit, meta and
 * names past their limits, and the last-resort guard that closes one connection (1011) when its
 * frame handling throws. Every refusal leaves the room as it was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_META_BYTES, MAX_META_DEPTH } from '../../src/protocol/limits.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { Envelope, Store } from '../../src/store/store.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { SignalingServer } from '../../src/server/index.js';
import { Resources, startTestServer, TestClient } from '../helpers/server-harness.js';

/** `depth` nested arrays around 1, e.g. nested(2) = '[[1]]'. */
const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
/** An object `depth` levels deep: nestedObject(2) = {"a":{"a":1}}. */
const nestedObject = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('hostile input', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  const setup = async (): Promise<SignalingServer> => res.server(await startTestServer());
  const { join } = res;
  const alive = async (c: TestClient, id: string): Promise<void> => {
    c.send({ type: 'ping', id });
    expect(await c.next('pong', 3000, (p) => p.re === id)).toMatchObject({ re: id });
  };

  it(`relays a frame ${MAX_JSON_DEPTH} deep and refuses one level deeper with BAD_MESSAGE naming the limit`, async () => {
    const s = await setup();
    const a = await join(s, 'deep');
    const b = await join(s, 'deep');
    // The frame object is level 1, so `data` may hold MAX_JSON_DEPTH - 1 levels.
    for (const [how, spacer] of [['scanner path', ''], ['full path (escaped key)', '"x\\u0041":0,']] as const) {
      a.c.sendRaw(`{${spacer}"type":"signal","data":${nested(MAX_JSON_DEPTH - 1)}}`);
      const got = await b.c.next('signal');
      expect(JSON.stringify(got.data), how).toBe(nested(MAX_JSON_DEPTH - 1));
      a.c.sendRaw(`{${spacer}"type":"signal","id":7,"data":${nested(MAX_JSON_DEPTH)}}`);
      const e = await a.c.error();
      expect(e.code, how).toBe('BAD_MESSAGE');
      expect(e.message).toContain(String(MAX_JSON_DEPTH));
    }
    // Brackets inside strings do not count.
    a.c.send({ type: 'signal', data: { s: '['.repeat(10_000) } });
    expect((await b.c.next('signal')).data).toEqual({ s: '['.repeat(10_000) });
    await alive(a.c, 'a');
  });

  it('answers a 5,000-deep signal, join, meta and ping with BAD_MESSAGE and keeps serving', async () => {
    const s = await setup();
    const a = await join(s, 'alone');
    for (const frame of [
      `{"type":"signal","data":${nested(5000)}}`,
      `{"type":"meta","meta":${nestedObject(5000)}}`,
      `{"type":"ping","x":${nested(5000)}}`,
      `{"type":"join","room":"x","meta":${nestedObject(5000)}}`,
    ]) {
      a.c.sendRaw(frame);
      expect(await a.c.error()).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringContaining('nest') as string });
    }
    await alive(a.c, 'still');
  });

  it('refuses a 20,000-deep meta on join without keeping the slot: the room still admits two members', async () => {
    const s = await setup();
    const bad = res.client(await TestClient.connect(s.url));
    // ~40 KB, under the 64 KB frame limit.
    bad.sendRaw(`{"type":"join","id":"j","room":"jam","meta":{"a":${nested(20_000)}}}`);
    expect(await bad.error()).toMatchObject({ code: 'BAD_MESSAGE' });
    const a = await join(s, 'jam', { meta: { ok: true } });
    const b = await join(s, 'jam');
    expect(a.joined.peers).toEqual([]);
    expect(b.joined.peers.map((p) => p.id)).toEqual([a.joined.self.id]);
    await a.c.next('ready');
  });

  it(`refuses meta deeper than ${MAX_META_DEPTH} or larger than ${MAX_META_BYTES} bytes, on join and on update, leaving the room unchanged`, async () => {
    const s = await setup();
    const c = res.client(await TestClient.connect(s.url));
    c.sendRaw(`{"type":"join","id":1,"room":"m","meta":${nestedObject(MAX_META_DEPTH + 1)}}`);
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 1, message: expect.stringContaining(`${MAX_META_DEPTH}`) as string });
    c.send({ type: 'join', id: 2, room: 'm', meta: { blob: 'x'.repeat(MAX_META_BYTES) } });
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 2, message: expect.stringContaining(`${MAX_META_BYTES}`) as string });
    // Multi-byte characters count as their UTF-8 bytes.
    c.send({ type: 'join', id: 3, room: 'm', meta: { blob: 'é'.repeat(MAX_META_BYTES / 2) } });
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 3 });

    // At the limits it is accepted.
    c.sendRaw(`{"type":"join","id":4,"room":"m","meta":${nestedObject(MAX_META_DEPTH)}}`);
    const joined = await c.next('joined');
    const other = await join(s, 'm');
    expect(other.joined.peers[0]?.meta).toEqual(joined.self.meta);

    c.send({ type: 'meta', id: 5, meta: { blob: 'x'.repeat(MAX_META_BYTES) } });
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 5 });
    c.sendRaw(`{"type":"meta","id":6,"meta":${nestedObject(MAX_META_DEPTH + 1)}}`);
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 6 });
    c.send({ type: 'meta', id: 7, meta: { audio: false } });
    expect((await other.c.next('peer-updated')).peer.meta).toEqual({ audio: false });
    expect(other.c.frames.filter((f) => f.type === 'peer-updated')).toEqual([]);
  });

  it('refuses a name over 64 characters (code points, so at most 256 bytes) with BAD_MESSAGE', async () => {
    const s = await setup();
    const c = res.client(await TestClient.connect(s.url));
    c.send({ type: 'join', id: 1, room: 'n', name: '😀'.repeat(65) });
    expect(await c.error()).toMatchObject({ code: 'BAD_MESSAGE', re: 1, message: expect.stringContaining('name') as string });
    c.send({ type: 'join', id: 2, room: 'n', name: '😀'.repeat(64) });
    expect((await c.next('joined')).self.name).toBe('😀'.repeat(64));
  });
});

describe('last-resort guard', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  /**
   * A shared memory store whose publish throws synchronously for envelopes to `boom`: a fault in
   * the relay path that no handler expects (a broken store, a bug), raised inside the 'message' event.
   */
  function faultyStore(): Store {
    const inner = new MemoryStore({ nodeId: 'faulty' });
    return new Proxy(inner, {
      get(target, key, receiver) {
        if (key === 'shared') return true;
        if (key === 'publish') {
          return (env: Envelope): Promise<void> => {
            if (env.to === 'boom') throw new Error('injected fault');
            return Promise.resolve();
          };
        }
        const v: unknown = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  it('closes only the connection whose frame threw (1011); everyone else keeps relaying', async () => {
    const store = faultyStore();
    const s = res.server(await startTestServer({}, { store }));
    const join = async (room: string) => {
      const c = res.client(await TestClient.connect(s.url));
      c.send({ type: 'join', room });
      return { c, joined: await c.next('joined') };
    };
    const x = await join('victim');
    const a = await join('bystanders');
    const b = await join('bystanders');
    x.c.send({ type: 'signal', to: 'boom', data: { n: 1 } });
    expect((await x.c.waitClosed()).code).toBe(CloseCode.INTERNAL);
    a.c.send({ type: 'signal', to: b.joined.self.id, data: { n: 2 } });
    expect((await b.c.next('signal')).data).toEqual({ n: 2 });
    await store.close();
  });
});
