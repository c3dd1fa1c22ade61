import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFloor, type FloorServer } from '../../src/bench/floor.js';
import { startLocalTarget, type LocalTarget } from '../../src/bench/target.js';
import { connect, type TestSocket } from '../helpers/bench-ws.js';
import { within } from '../helpers/within.js';

const FLOOR_NODE = join(import.meta.dirname, '../../bench/floor-node.mjs');

/** One node of the two-node floor (bench/floor-node.mjs, over dist/): its child and its ready line. */
async function floorNode(children: ChildProcess[], tcp: boolean, dial?: number): Promise<{ ws: string; link: number | null }> {
  const child = spawn(process.execPath, [FLOOR_NODE, ...(tcp ? ['--tcp'] : []), ...(dial === undefined ? [] : ['--dial', String(dial)])], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  const line = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`floor-node.mjs exited (${code}) before it was ready`)));
  });
  return JSON.parse(await within(line, 10_000, 'floor-node.mjs to listen')) as { ws: string; link: number | null };
}

describe('the floor relay', () => {
  let floor: FloorServer | undefined;
  let target: LocalTarget | undefined;
  const sockets: TestSocket[] = [];
  const children: ChildProcess[] = [];

  /**
   * Joins a new client at `url` to room `other` (c's room) and has it send a marker: c's next
   * signal is that marker, and nothing else is waiting for c.
   */
  async function expectOnlyMarker(url: string, c: TestSocket): Promise<void> {
    const d = await connect(url);
    sockets.push(d);
    d.send({ type: 'join', room: 'other' });
    await d.next((m) => m.type === 'joined');
    d.send({ type: 'signal', data: 'marker' });
    expect(await c.next((m) => m.type === 'signal')).toEqual({ type: 'signal', data: 'marker' });
    expect(c.pending()).toEqual([]);
  }

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
    await Promise.all(
      children.splice(0).map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = once(c, 'exit');
        c.kill('SIGTERM');
        await within(exited, 5_000, 'floor-node.mjs to exit');
      }),
    );
    await floor?.close();
    await target?.close();
    floor = undefined;
    target = undefined;
  });

  it('welcomes, answers join with joined, and forwards text frames verbatim to the others only', async () => {
    floor = await startFloor();
    expect(floor.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    const [a, b, c] = await Promise.all([connect(floor.url), connect(floor.url), connect(floor.url)]);
    sockets.push(a, b, c);
    for (const s of [a, b, c]) expect(await s.next((m) => m.type === 'welcome')).toMatchObject({ protocol: 1, iceServers: [] });

    a.send({ type: 'join', room: 'r1', name: 'alice', id: 7, capacity: 3 });
    const joinedA = await a.next((m) => m.type === 'joined');
    expect(joinedA).toMatchObject({ re: 7, room: 'r1', self: { name: 'alice', meta: {} }, peers: [], capacity: 3 });
    b.send({ type: 'join', room: 'r1', name: 'bob' });
    const joinedB = await b.next((m) => m.type === 'joined');
    expect(joinedB.peers).toEqual([{ id: (joinedA.self as { id: string }).id, name: 'alice', meta: {} }]);
    c.send({ type: 'join', room: 'other' });
    await c.next((m) => m.type === 'joined');

    const frame = { type: 'signal', data: { s: 1, q: 0, p: 1, t: 1.5 } };
    a.send(frame);
    expect(await b.next((m) => m.type === 'signal')).toEqual(frame);
    b.send({ type: 'signal', data: { hello: true } });
    expect(await a.next((m) => m.type === 'signal')).toEqual({ type: 'signal', data: { hello: true } });
    // Nothing came back to its sender: an echo of a's signal would have reached a before b's.
    expect(a.pending()).toEqual([]);
    // Nothing crossed rooms: a later marker from c's room-mate arrives after anything relayed to c
    // while a's signal was handled (the floor relays as it reads).
    await expectOnlyMarker(floor.url, c);
  });

  it('ignores frames before a valid join, and frees a room when its last member leaves', async () => {
    floor = await startFloor();
    const [a, b] = await Promise.all([connect(floor.url), connect(floor.url)]);
    sockets.push(a, b);
    a.send({ type: 'join', room: 'bad room!' });
    a.ws.send('not json');
    a.ws.send(Buffer.from([1, 2, 3]));
    a.send({ type: 'join', room: 'r' });
    await a.next((m) => m.type === 'joined');
    await a.close();
    b.send({ type: 'join', room: 'r' });
    expect((await b.next((m) => m.type === 'joined')).peers).toEqual([]);
  });

  it('closes idempotently with clients still connected', async () => {
    floor = await startFloor();
    const a = await connect(floor.url);
    sockets.push(a);
    const closed = new Promise<number>((resolve) => a.ws.once('close', (code) => resolve(code)));
    await Promise.all([floor.close(), floor.close()]);
    expect(await closed).toBe(1006);
  });

  it.each([
    ['a WebSocket', false],
    ['plain TCP', true],
  ])('links two floor processes (bench/floor-node.mjs) over %s: a room spanning both gets every frame on both', async (_kind, tcp) => {
    const first = await floorNode(children, tcp);
    expect(first.link).toBeGreaterThan(0);
    const second = await floorNode(children, tcp, first.link!);
    expect(second.link).toBeNull();
    const [a, b, c] = await Promise.all([connect(first.ws), connect(second.ws), connect(second.ws)]);
    sockets.push(a, b, c);
    for (const s of [a, b, c]) await s.next((m) => m.type === 'welcome');
    a.send({ type: 'join', room: 'r' });
    await a.next((m) => m.type === 'joined');
    b.send({ type: 'join', room: 'r' });
    await b.next((m) => m.type === 'joined');
    c.send({ type: 'join', room: 'other' });
    await c.next((m) => m.type === 'joined');
    // b's join reached the first node before b's own frames (the link carries both, in order).
    b.send({ type: 'signal', data: { from: 'b', n: 1 } });
    expect(await a.next((m) => m.type === 'signal')).toEqual({ type: 'signal', data: { from: 'b', n: 1 } });
    const frames = Array.from({ length: 50 }, (_, n) => ({ type: 'signal', data: { from: 'a', n, text: 'é'.repeat(n) } }));
    for (const f of frames) a.send(f);
    for (const f of frames) expect(await b.next((m) => m.type === 'signal')).toEqual(f);
    // c, in another room on b's node, got none of them: a marker from its own room-mate comes first.
    await expectOnlyMarker(first.ws, c);
    expect(a.pending()).toEqual([]);
  });

  it('runs as a child process (sigctl bench floor) whose CPU and RSS can be read', async () => {
    target = await startLocalTarget({ kind: 'floor', env: { PATH: process.env.PATH } });
    expect(target.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    const s = target.sample();
    expect(s?.rssKiB).toBeGreaterThan(1000);
    const a = await connect(target.url);
    sockets.push(a);
    expect(await a.next((m) => m.type === 'welcome')).toMatchObject({ type: 'welcome' });
    await target.close();
    expect(target.sample()).toBeUndefined();
  });
});
