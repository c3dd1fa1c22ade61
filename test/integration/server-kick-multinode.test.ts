/**
 * Kick, closeRoom and room events across two nodes sharing one real redis-server: a node kicks a
 * member held by the other (the control envelope on the room's channel), and every room fact is
 * emitted once in the cluster, by the node whose store operation made it true.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { RoomEventSink } from '../../src/server/room-events.js';
import type { SignalingServer } from '../../src/server/index.js';
import { redisForSuite } from '../helpers/redis-server.js';
import { RedisNodes } from '../helpers/redis-nodes.js';
import { requires } from '../helpers/requires.js';
import { startDaemon, type Daemon } from '../helpers/server-daemon.js';
import { EventLog } from '../helpers/room-events.js';
import { Resources, TestClient } from '../helpers/server-harness.js';

describe('kick, closeRoom and room events across nodes (Redis store)', requires('redis-server'), () => {
  const redis = redisForSuite();
  const res = new Resources();
  const cluster = new RedisNodes(res, 'kick', () => ({ url: redis.url }));
  const { join } = res;

  afterEach(() => cluster.closeAll());

  const nodes = (n: number, sink?: (node: string) => RoomEventSink): Promise<SignalingServer[]> =>
    cluster.start(n, { overrides: { rooms: { resumeGraceMs: 5000 } }, deps: (node) => (sink === undefined ? {} : { events: sink(node) }) });

  it('a node kicks a member held by the other node; its token is void there too', async () => {
    const [n1, n2] = await nodes(2);
    const { c: a } = await join(n1!, 'x');
    const { c: b, joined: jb } = await join(n2!, 'x');
    await a.next('peer-joined');
    expect(await n1!.kick('x', jb.self.id)).toBe('kicked');
    expect(await b.error()).toMatchObject({ code: 'KICKED' });
    expect((await b.waitClosed()).code).toBe(CloseCode.KICKED);
    expect(await a.next('peer-left')).toEqual({ type: 'peer-left', room: 'x', peer: jb.self.id, reason: 'kicked' });
    const b2 = res.client(await TestClient.connect(n1!.url));
    b2.send({ type: 'join', room: 'x', resume: jb.resumeToken });
    expect(await b2.error()).toMatchObject({ code: 'RESUME_FAILED' });
    await b2.next('joined');
    expect(await n1!.kick('x', jb.self.id)).toBe('not-found');
  });

  it('closeRoom on one node removes the members of both nodes', async () => {
    const [n1, n2] = await nodes(2);
    const { c: a } = await join(n1!, 'room', { capacity: 3 });
    const { c: b } = await join(n2!, 'room');
    const { c: c } = await join(n2!, 'room');
    expect(await n1!.closeRoom('room')).toBe(3);
    for (const client of [a, b, c]) {
      expect(await client.error()).toMatchObject({ code: 'KICKED' });
      expect((await client.waitClosed()).code).toBe(CloseCode.KICKED);
    }
  });

  it('emits each fact once in the cluster, from the node that made it true', async () => {
    const log = new EventLog();
    const [n1, n2] = await nodes(2, (node) => log.sink(node));
    const { c: a, joined: ja } = await join(n1!, 'e');
    const { c: b, joined: jb } = await join(n2!, 'e');
    await a.next('peer-joined');
    b.send({ type: 'meta', meta: { cam: true } });
    await a.next('peer-updated');
    b.send({ type: 'leave' });
    await b.next('left');
    await a.next('peer-left');
    await a.close();
    await log.waitFor('room.finished', (e) => e.type === 'room.finished' && e.room === 'e');
    const seen = log.events.filter((e) => e.room === 'e').map((e) => `${e.node} ${e.type}${e.type === 'member.left' ? `:${e.reason}` : ''}`);
    expect(seen).toEqual([
      'node-0 room.started',
      'node-0 member.joined',
      'node-1 member.joined',
      'node-1 room.ready',
      'node-1 member.updated',
      'node-1 member.left:leave',
      'node-0 member.left:disconnect',
      'node-0 room.finished',
    ]);
    expect(log.events.find((e) => e.type === 'member.joined' && e.node === 'node-1')).toMatchObject({ member: { id: jb.self.id }, members: 2 });
    expect(log.events.find((e) => e.type === 'member.left' && e.node === 'node-0')).toMatchObject({ member: { id: ja.self.id }, members: 0 });
  });

  it('a dead node\'s member leaves once, by the reaping node, with the room as the reap left it', async () => {
    const log = new EventLog();
    const [n1] = await cluster.start(1, { heartbeatMs: 300, deps: (node) => ({ events: log.sink(node) }) });
    const keyPrefix = cluster.keyPrefix;
    // The other node is a real process, killed with SIGKILL: nothing of it says goodbye.
    const dead: Daemon = startDaemon(['serve', '--port', '0', '--json', '--log-level', 'warn', '--redis', redis.url], { SIGCTL_REDIS_KEY_PREFIX: keyPrefix, SIGCTL_REDIS_NODE_ID: 'node-dead', SIGCTL_REDIS_NODE_HEARTBEAT_MS: '300', SIGCTL_DRAIN_MS: '0' }, 45_000);
    try {
      const url = (JSON.parse(await dead.firstLine) as { ws: string }).ws;
      const { c: a } = await join(n1!, 'r', { capacity: 3 });
      const { joined: jb } = await join(n1!, 'r');
      const gone = res.client(await TestClient.connect(url));
      gone.send({ type: 'join', room: 'r' });
      const jg = await gone.next('joined', 5000);
      await a.next('peer-joined');
      await a.next('peer-joined');
      dead.child.kill('SIGKILL');
      expect(await a.next('peer-left', 8000)).toEqual({ type: 'peer-left', room: 'r', peer: jg.self.id, reason: 'disconnect' });
      const left = await log.waitFor('the dead member left', (e) => e.type === 'member.left' && e.member.id === jg.self.id);
      expect(left).toMatchObject({ node: 'node-0', reason: 'disconnect', members: 2 });
      // A marker: a later fact of the room arrives after any duplicate would have.
      a.send({ type: 'leave' });
      await log.waitFor('the marker leave', (e) => e.type === 'member.left' && e.reason === 'leave');
      expect(log.events.filter((e) => e.type === 'member.left' && e.member.id === jg.self.id)).toHaveLength(1);
      expect(log.events.filter((e) => e.type === 'room.finished')).toHaveLength(0);
      expect(jb.self.id).not.toBe(jg.self.id);
    } finally {
      await dead.stop('SIGKILL').catch(() => undefined);
    }
  });
});
