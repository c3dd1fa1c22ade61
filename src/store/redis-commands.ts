/**
 * The Redis store's command layer: every command and script the store runs, each bounded by the
 * timeout (redis-deadline.ts) and its reply parsed (redis-records.ts). It holds no state of its
 * own beyond the client; the store (redis.ts) decides when to call what.
 *
 * Under Redis Cluster (`keys.sharded`) a script may only touch keys of one slot, so the node
 * member sets, which live in the node keys' slot, are updated by separate commands around the
 * room scripts: the entry is added before a join (an entry without a member is harmless: the
 * reaper's LEAVE checks the holder) and removed after a leave. Join, leave and move stay atomic
 * for the room, which is what capacity needs.
 */
import type { CommandClient } from './redis-client.js';
import { SigctlError } from '../protocol/errors.js';
import type { Meta } from '../protocol/messages.js';
import { withDeadline } from './redis-deadline.js';
import { nodeMemberEntry, type RedisKeys } from './redis-keys.js';
import { nodeInfos, parseIdentity, records } from './redis-records.js';
import { BEGIN_EPOCH, DROP, DRAIN, ENQUEUE, GATE, HEARTBEAT, JOIN, JOIN_RECOVERING, JOIN_STALE_EPOCH, LEAVE, MEMBERS, SET_META, SET_NODE } from './redis-scripts.js';
import type { LeaveResult, MemberRecord, NodeStatus, QueueDrain, ResumeRecord } from './store.js';

/** JOIN's outcome: admitted, full, or refused because of a data loss (stale epoch) or a recovery in progress. */
export type JoinReply =
  | { readonly ok: true; readonly peers: readonly MemberRecord[]; readonly capacity: number; readonly ready: boolean }
  | { readonly ok: false; readonly reason: 'full'; readonly capacity: number }
  | { readonly ok: false; readonly reason: 'stale-epoch' | 'recovering' };

/** A script's array reply (empty when it is not one). */
function list(reply: unknown): readonly unknown[] {
  return Array.isArray(reply) ? reply : [];
}

/** A script's string reply. */
function text(reply: unknown): string {
  if (typeof reply !== 'string') throw new SigctlError('UNAVAILABLE', 'unexpected reply from Redis');
  return reply;
}

function memberRecord(reply: unknown): MemberRecord | undefined {
  if (!Array.isArray(reply)) return undefined;
  const parsed = parseIdentity(reply[0], reply[1]);
  if (parsed === undefined) return undefined;
  const { seq: _seq, ...rec } = parsed;
  return rec;
}

/** Bounded commands on one client, for one key prefix. */
export class RedisCommands {
  constructor(
    private readonly client: CommandClient,
    private readonly keys: RedisKeys,
    private readonly timeoutMs: number,
  ) {}

  /** `work`, bounded by the timeout. */
  bound<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.timeoutMs, what);
  }

  ping(): Promise<unknown> {
    return this.bound(this.client.ping(), 'PING');
  }

  /** Sets `fresh` as the epoch when Redis has none (opening a recovery window for `expected` nodes); returns the epoch in force. */
  async beginEpoch(fresh: string, windowMs: number, expected: readonly string[]): Promise<string> {
    const k = this.keys;
    return text(await this.bound(this.client.eval(BEGIN_EPOCH, { keys: [k.epoch(), k.recovery()], arguments: [fresh, String(windowMs), ...expected] }), 'BEGIN_EPOCH'));
  }

  epoch(): Promise<string | null> {
    return this.bound(this.client.get(this.keys.epoch()), 'GET epoch');
  }

  /** Whether some node is still restoring after a data loss. */
  async recovering(): Promise<boolean> {
    return (await this.bound(this.client.exists(this.keys.recovery()), 'EXISTS recovery')) === 1;
  }

  async restored(nodeId: string): Promise<void> {
    await this.bound(this.client.sRem(this.keys.recovery(), nodeId), 'SREM recovery');
  }

  /** Refreshes a node's liveness key; returns whether it still existed, and the epoch ('' when none). */
  async heartbeat(info: NodeStatus, ttlMs: number): Promise<{ had: boolean; epoch: string }> {
    const k = this.keys;
    const reply = await this.bound(this.client.eval(HEARTBEAT, { keys: [k.node(info.id), k.nodes(), k.epoch()], arguments: [JSON.stringify(info), String(ttlMs), info.id] }), 'HEARTBEAT');
    const [had, epoch] = list(reply);
    return { had: Number(had) === 1, epoch: typeof epoch === 'string' ? epoch : '' };
  }

  /** Advertises where this node listens for direct links, for `ttlMs` (refreshed with the heartbeat). */
  async setLink(nodeId: string, address: string, ttlMs: number): Promise<void> {
    await this.bound(this.client.set(this.keys.nodeLink(nodeId), address, { PX: ttlMs }), 'SET link');
  }

  /** Where a node listens for direct links; null when it advertises none. */
  link(nodeId: string): Promise<string | null> {
    return this.bound(this.client.get(this.keys.nodeLink(nodeId)), 'GET link');
  }

  nodeIds(): Promise<string[]> {
    return this.bound(this.client.sMembers(this.keys.nodes()), 'SMEMBERS nodes');
  }

  async nodeAlive(nodeId: string): Promise<boolean> {
    return (await this.bound(this.client.exists(this.keys.node(nodeId)), 'EXISTS node')) === 1;
  }

  async nodes(): Promise<NodeStatus[]> {
    const ids = await this.nodeIds();
    if (ids.length === 0) return [];
    return nodeInfos(await this.bound(this.client.mGet(ids.map((id) => this.keys.node(id))), 'MGET nodes'));
  }

  /** `<b64 room> <member id>` entries of the members recorded on a node. */
  nodeMembers(nodeId: string): Promise<string[]> {
    return this.bound(this.client.sMembers(this.keys.nodeMembers(nodeId)), 'SMEMBERS node members');
  }

  /** Takes the lock to reap a dead node; false when another node has it. */
  async lockReap(deadId: string, holder: string): Promise<boolean> {
    return (await this.bound(this.client.set(this.keys.reapLock(deadId), holder, { NX: true, PX: 30_000 }), 'SET reap lock')) === 'OK';
  }

  /** Forgets a node: its member set and its registration. */
  async dropNode(nodeId: string): Promise<void> {
    await this.bound(this.client.eval(DROP, { keys: [this.keys.nodeMembers(nodeId), this.keys.nodes()], arguments: [nodeId] }), 'DROP node');
  }

  /** Removes this node's liveness key and registration (a clean shutdown). */
  async unregister(nodeId: string): Promise<void> {
    await this.bound(this.client.eval(DROP, { keys: [this.keys.node(nodeId), this.keys.nodes()], arguments: [nodeId] }), 'DROP registration');
  }

  async join(room: string, member: MemberRecord, capacity: number, mode: 'join' | 'restore', epoch: string): Promise<JoinReply> {
    const k = this.keys;
    const identity = JSON.stringify({ id: member.id, name: member.name, node: member.node });
    const entry = nodeMemberEntry(room, member.id);
    const roomKeys = [k.members(room), k.meta(room), k.capacity(room), k.seq(room)];
    if (k.sharded) {
      const gate = Number(await this.bound(this.client.eval(GATE, { keys: [k.epoch(), k.recovery()], arguments: [epoch, mode] }), 'GATE'));
      if (gate === JOIN_STALE_EPOCH) return { ok: false, reason: 'stale-epoch' };
      if (gate === JOIN_RECOVERING) return { ok: false, reason: 'recovering' };
      await this.bound(this.client.sAdd(k.nodeMembers(member.node), entry), 'SADD node member');
    }
    const reply = await this.bound(
      this.client.eval(JOIN, {
        keys: k.sharded ? roomKeys : [...roomKeys, k.nodeMembers(member.node), k.epoch(), k.recovery()],
        arguments: [member.id, identity, JSON.stringify(member.meta), String(capacity), entry, mode, epoch],
      }),
      'JOIN',
    );
    const [ok, cap, ready, peers, metas] = list(reply);
    if (Number(ok) === JOIN_STALE_EPOCH) return { ok: false, reason: 'stale-epoch' };
    if (Number(ok) === JOIN_RECOVERING) return { ok: false, reason: 'recovering' };
    if (Number(ok) !== 1) {
      if (k.sharded) await this.bound(this.client.sRem(k.nodeMembers(member.node), entry), 'SREM node member');
      return { ok: false, reason: 'full', capacity: Number(cap) };
    }
    return { ok: true, peers: records(peers, metas), capacity: Number(cap), ready: Number(ready) === 1 };
  }

  /** Removes a member (only if recorded on `onlyIfNode`, unless that is ''). */
  async leave(room: string, memberId: string, onlyIfNode: string): Promise<LeaveResult> {
    const k = this.keys;
    const reply = await this.bound(
      this.client.eval(LEAVE, {
        keys: [k.members(room), k.meta(room), k.capacity(room), k.seq(room), k.queue(room, memberId), k.queueDropped(room, memberId)],
        arguments: [memberId, nodeMemberEntry(room, memberId), onlyIfNode, k.sharded ? '' : k.nodePrefix],
      }),
      'LEAVE',
    );
    const [removed, identities, metas, holder] = list(reply);
    if (k.sharded && typeof holder === 'string' && holder !== '') {
      await this.bound(this.client.sRem(k.nodeMembers(holder), nodeMemberEntry(room, memberId)), 'SREM node member');
    }
    return { removed: Number(removed) === 1, remaining: records(identities, metas) };
  }

  async setMeta(room: string, memberId: string, meta: Meta): Promise<MemberRecord | undefined> {
    const k = this.keys;
    return memberRecord(await this.bound(this.client.eval(SET_META, { keys: [k.members(room), k.meta(room)], arguments: [memberId, JSON.stringify(meta)] }), 'SET_META'));
  }

  async setNode(room: string, memberId: string, node: string): Promise<MemberRecord | undefined> {
    const k = this.keys;
    const entry = nodeMemberEntry(room, memberId);
    const reply = await this.bound(
      this.client.eval(SET_NODE, { keys: [k.members(room), k.meta(room)], arguments: [memberId, node, k.sharded ? '' : k.nodePrefix, entry] }),
      'SET_NODE',
    );
    if (k.sharded && Array.isArray(reply) && typeof reply[2] === 'string') {
      if (reply[2] !== node) await this.bound(this.client.sRem(k.nodeMembers(reply[2]), entry), 'SREM node member');
      await this.bound(this.client.sAdd(k.nodeMembers(node), entry), 'SADD node member');
    }
    return memberRecord(reply);
  }

  async members(room: string): Promise<MemberRecord[]> {
    const k = this.keys;
    const reply = await this.bound(this.client.eval(MEMBERS, { keys: [k.members(room), k.meta(room)] }), 'MEMBERS');
    const [identities, metas] = list(reply);
    return records(identities, metas);
  }

  async capacity(room: string): Promise<number | undefined> {
    const v = await this.bound(this.client.get(this.keys.capacity(room)), 'GET capacity');
    return v === null ? undefined : Number(v);
  }

  async putResume(token: string, record: ResumeRecord, ttlMs: number): Promise<void> {
    await this.bound(this.client.set(this.keys.resume(token), JSON.stringify(record), { PX: ttlMs }), 'SET resume');
  }

  takeResume(token: string): Promise<string | null> {
    return this.bound(this.client.getDel(this.keys.resume(token)), 'GETDEL resume');
  }

  async enqueue(room: string, memberId: string, frame: string, max: number, ttlMs: number, holder = ''): Promise<boolean> {
    const k = this.keys;
    const reply = await this.bound(this.client.eval(ENQUEUE, { keys: [k.queue(room, memberId), k.queueDropped(room, memberId), k.members(room)], arguments: [frame, String(max), String(ttlMs), holder, memberId] }), 'ENQUEUE');
    return Number(reply) >= 0;
  }

  async drain(room: string, memberId: string): Promise<QueueDrain> {
    const k = this.keys;
    const reply = await this.bound(this.client.eval(DRAIN, { keys: [k.queue(room, memberId), k.queueDropped(room, memberId)] }), 'DRAIN');
    const [frames, dropped] = list(reply);
    return { frames: Array.isArray(frames) ? frames.map(String) : [], dropped: Number(dropped ?? 0) };
  }

  /**
   * Publishes on a channel (a room's or a node's, RedisKeys; SPUBLISH under Cluster); resolves with the number of
   * subscribers that got it. Not bounded here: the caller bounds a whole batch of publishes with one deadline
   * (redis-channels.ts).
   */
  publishUnbounded(channel: string, message: string): Promise<number> {
    return this.client.publish(channel, message);
  }
}
