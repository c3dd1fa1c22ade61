/**
 * Issue 16 end to end, across two real servers sharing a real redis-server, with the hub's own room
 * events (HubOptions.events) and operator controls (Hub.kick, Hub.closeRoom) from issue 12:
 *
 * - a scripted session (joins on both nodes, ready, meta, a drop and resume on the other node, an
 *   admin kick across nodes, a leave, an admin close, the room finished) reaches an independent
 *   receiver that fails the first attempt of every event: every request verifies, every fact
 *   arrives once (by id), from the node that made it true, in the order of the session;
 * - a kicked member gets the error KICKED and close 4014, the others `peer-left` (reason kicked),
 *   and its resume token is void; a close kicks everyone;
 * - `sigctl rooms kick|close --json` do the same from the command line.
 *
 * These need the hub of issue 12 (h12-core): on a branch without it they fail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SignalingServer } from '../../src/server/index.js';
import type { WebhookEvent } from '../../src/webhooks/event.js';
import { signToken, TEST_SECRET } from '../helpers/auth-tokens.js';
import { runCli } from '../helpers/cli-run.js';
import { redisForSuite } from '../helpers/redis-server.js';
import { RedisNodes } from '../helpers/redis-nodes.js';
import { requires } from '../helpers/requires.js';
import { Resources, testConfig, TestClient, within } from '../helpers/server-harness.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const HOOK_SECRET = 'whsec-e2e-0123456789abcdef';
/** Close code of a kicked member (issue 12: CloseCode.KICKED). */
const CLOSE_KICKED = 4014;

describe('operations across two nodes: webhooks, kick, close', requires('redis-server'), () => {
  const redis = redisForSuite();
  const res = new Resources();
  const cluster = new RedisNodes(res, 'ops', () => ({ url: redis.url }));
  const receivers: WebhookReceiver[] = [];

  afterEach(async () => {
    await cluster.closeAll();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  async function nodes(hookUrl?: string): Promise<[SignalingServer, SignalingServer]> {
    const overrides: ConfigInput = {
      auth: { jwt: { secret: TEST_SECRET } },
      rooms: { capacity: 3, resumeGraceMs: 5000 },
      ...(hookUrl === undefined ? {} : { webhooks: [{ url: hookUrl, secret: HOOK_SECRET }] }),
    };
    const [a, b] = await cluster.start(['node-a', 'node-b'], { overrides, deps: () => ({ authenticator: createAuthenticator(testConfig(overrides).auth) }) });
    return [a!, b!];
  }

  async function client(s: SignalingServer, sub: string): Promise<TestClient> {
    return res.client(await TestClient.connect(`${s.url}?token=${encodeURIComponent(await signToken({ sub, room: '*' }))}`));
  }

  async function admin(s: SignalingServer, method: 'GET' | 'DELETE', path: string): Promise<{ status: number; body: unknown }> {
    const token = await signToken({ sub: 'ops', admin: true });
    const r = await within(fetch(`${s.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } }), 5000, `${method} ${path}`);
    return { status: r.status, body: await r.json() };
  }

  it('delivers the facts of a scripted session once each, signed, in order, from the node that made each true', async () => {
    const hooks = await WebhookReceiver.start(HOOK_SECRET, (_e, attempt) => (attempt === 1 ? 503 : 204));
    receivers.push(hooks);
    const [a, b] = await nodes(hooks.url);
    const facts: Array<[WebhookEvent['type'], string, string?]> = [];
    /** Waits until the receiver has accepted every fact expected so far. */
    const step = async (what: string, ...more: Array<[WebhookEvent['type'], string, string?]>): Promise<void> => {
      facts.push(...more);
      await hooks.until(what, () => new Set(hooks.accepted().map((e) => e.id)).size >= facts.length, 20_000);
    };

    const alice = await client(a, 'alice');
    alice.send({ type: 'join', room: 's' });
    const aliceId = (await alice.next('joined')).self.id;
    await step('alice joined', ['room.started', 'node-a'], ['member.joined', 'node-a', 'alice']);

    const bob = await client(b, 'bob');
    bob.send({ type: 'join', room: 's' });
    const bobJoined = await bob.next('joined');
    await step('bob joined', ['member.joined', 'node-b', 'bob'], ['room.ready', 'node-b']);

    bob.send({ type: 'meta', meta: { muted: true } });
    await alice.next('peer-updated');
    await step('bob updated', ['member.updated', 'node-b', 'bob']);

    bob.drop();
    const bob2 = await client(a, 'bob');
    bob2.send({ type: 'join', room: 's', resume: bobJoined.resumeToken });
    expect((await bob2.next('joined')).resumed).toBe(true);
    await step('bob resumed on node-a', ['member.resumed', 'node-a', 'bob']);

    const carol = await client(b, 'carol');
    carol.send({ type: 'join', room: 's' });
    const carolJoined = await carol.next('joined');
    await step('carol joined', ['member.joined', 'node-b', 'carol']);

    // Kicked through node-a; carol is held by node-b.
    expect(await admin(a, 'DELETE', `/v1/rooms/s/members/${carolJoined.self.id}`)).toMatchObject({ status: 200, body: { kicked: true } });
    expect(await carol.error()).toMatchObject({ code: 'KICKED' });
    expect((await carol.waitClosed()).code).toBe(CLOSE_KICKED);
    expect(await alice.next('peer-left', 3000, (f) => f.peer === carolJoined.self.id)).toMatchObject({ reason: 'kicked' });
    await step('carol kicked', ['member.left', 'node-b', 'carol']);

    alice.send({ type: 'leave' });
    await alice.next('left');
    await step('alice left', ['member.left', 'node-a', 'alice']);

    expect(await admin(b, 'DELETE', '/v1/rooms/s')).toMatchObject({ status: 200, body: { kicked: 1 } });
    expect((await bob2.waitClosed()).code).toBe(CLOSE_KICKED);
    await step('room closed', ['member.left', 'node-a', 'bob'], ['room.finished', 'node-a']);

    // A marker from each node: anything either sent for room s before it has arrived by now.
    const late = await client(a, 'late');
    late.send({ type: 'join', room: 's' });
    await late.next('joined');
    await step('marker on node-a', ['room.started', 'node-a'], ['member.joined', 'node-a', 'late']);
    const later = await client(b, 'later');
    later.send({ type: 'join', room: 's' });
    await later.next('joined');
    await step('marker on node-b', ['member.joined', 'node-b', 'later'], ['room.ready', 'node-b']);

    expect(hooks.received.every((r) => r.verified)).toBe(true);
    // Every event was refused once, then accepted under the same id.
    const accepted = hooks.accepted();
    expect(accepted).toHaveLength(facts.length);
    expect(new Set(accepted.map((e) => e.id)).size).toBe(facts.length);
    expect(hooks.received.filter((r) => r.status === 503).map((r) => r.event.id).sort()).toEqual(accepted.map((e) => e.id).sort());
    expect(accepted.map((e) => [e.type, e.node, ...(e.member === undefined ? [] : [e.member.name])])).toEqual(facts.map((f) => f.filter((x) => x !== undefined)));
    expect(accepted.every((e) => e.room.id === 's' && e.room.capacity === 3)).toBe(true);
    const left = accepted.filter((e) => e.type === 'member.left');
    expect(left.map((e) => [e.member?.id, e.reason])).toEqual([
      [carolJoined.self.id, 'kicked'],
      [aliceId, 'leave'],
      [bobJoined.self.id, 'kicked'],
    ]);
    expect(accepted.find((e) => e.type === 'member.updated')?.member?.meta).toEqual({ muted: true });
  });

  it('voids a kicked member resume token', async () => {
    const [a, b] = await nodes();
    const x = await client(a, 'x');
    x.send({ type: 'join', room: 'k' });
    const joined = await x.next('joined');
    const y = await client(b, 'y');
    y.send({ type: 'join', room: 'k' });
    await y.next('joined');
    expect((await admin(b, 'DELETE', `/v1/rooms/k/members/${joined.self.id}`)).status).toBe(200);
    await x.waitClosed();
    const again = await client(b, 'x');
    again.send({ type: 'join', room: 'k', resume: joined.resumeToken });
    // The token is void: the join goes on as a new member with a new id (RESUME_FAILED says why).
    const rejoined = await again.next('joined');
    expect(rejoined.resumed).not.toBe(true);
    expect(rejoined.self.id).not.toBe(joined.self.id);
    expect(again.frames.some((f) => f.type === 'error' && f.code === 'RESUME_FAILED')).toBe(true);
    expect((await admin(a, 'DELETE', '/v1/rooms/k/members/not-a-member')).status).toBe(404);
  });

  it('sigctl rooms kick and close --json reach members held by the other node', async () => {
    const [a, b] = await nodes();
    const token = await signToken({ sub: 'ops', admin: true });
    const p = await client(a, 'p');
    p.send({ type: 'join', room: 'cli' });
    await p.next('joined');
    const q = await client(b, 'q');
    q.send({ type: 'join', room: 'cli' });
    const qId = (await q.next('joined')).self.id;
    const r = await client(b, 'r');
    r.send({ type: 'join', room: 'cli' });
    await r.next('joined');

    // `--` before the positionals: a member id may begin with '-' (base64url), which would read as an option.
    const kick = await runCli(['rooms', 'kick', '--url', a.url, '--token', token, '--json', '--', 'cli', qId], { cleanEnv: true });
    expect(kick.stderr).toBe('');
    expect(kick.code, kick.stdout).toBe(0);
    expect(JSON.parse(kick.stdout)).toEqual({ room: 'cli', member: qId, kicked: true });
    expect((await q.waitClosed()).code).toBe(CLOSE_KICKED);

    const close = await runCli(['rooms', 'close', 'cli', '--url', a.url, '--token', token, '--json'], { cleanEnv: true });
    expect(close.code).toBe(0);
    expect(JSON.parse(close.stdout)).toMatchObject({ room: 'cli', closed: true, kicked: 2 });
    await Promise.all([p.waitClosed(), r.waitClosed()]);
    const list = await runCli(['rooms', 'list', '--url', b.url, '--token', token, '--json'], { cleanEnv: true });
    expect(JSON.parse(list.stdout)).toEqual({ rooms: [] });
    const gone = await runCli(['rooms', 'kick', '--url', b.url, '--token', token, '--json', '--', 'cli', qId], { cleanEnv: true });
    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.stdout)).toMatchObject({ code: 'NOT_FOUND' });
  });
});
