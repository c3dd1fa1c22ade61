/**
 * The Redis store: room membership, capacity, resume records and queues shared by every node of a
 * cluster (docs/scaling.md). Membership changes are Lua scripts, so they are atomic across nodes.
 * Cross-node delivery uses one pub/sub channel per room: a node subscribes while it holds members
 * of the room, so each envelope reaches only the nodes that need it, and the publisher needs no
 * membership lookup per message. Pub/sub is at-most-once; membership never depends on it.
 *
 * Liveness: every node refreshes `node:<id>` (TTL 2 heartbeats) and its load; on every heartbeat
 * each node looks for nodes whose key has expired and, holding a lock, removes their members and
 * reports them through onReap so the server can tell the rooms (`peer-left`, reason disconnect).
 *
 * Redis outages: commands fail fast (no offline queue), the store reports `down`, joins are
 * refused by the server (UNAVAILABLE), and when Redis is back the node re-registers the members it
 * still holds (a restarted Redis may have lost everything).
 */
import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from 'pino';
import { SigctlError } from '../protocol/errors.js';
import { Meta as MetaSchema, type Meta } from '../protocol/messages.js';
import { nodeMemberEntry, parseNodeMemberEntry, RedisKeys } from './redis-keys.js';
import { DRAIN, ENQUEUE, JOIN, LEAVE, MEMBERS, SET_META, SET_NODE } from './redis-scripts.js';
import type { Envelope, JoinResult, LeaveResult, MemberRecord, QueueDrain, ResumeRecord, Store, StoreHealth } from './store.js';

export interface RedisStoreOptions {
  url: string;
  keyPrefix?: string;
  nodeId?: string;
  /** Heartbeat period; a node is dead after 2 missed periods and reaped on the next one. */
  heartbeatMs?: number;
  /** How long start() waits for the first connection. */
  connectTimeoutMs?: number;
  logger?: Logger | undefined;
  now?: () => number;
  /** This node's public WebSocket URL (config publicUrl): listed from the first heartbeat on. */
  publicUrl?: string | undefined;
}

/** A node's entry in `GET /v1/nodes`. */
export interface NodeInfo {
  id: string;
  connections: number;
  rooms: number;
  startedAt: number;
  updatedAt: number;
  url?: string | undefined;
}

/** Load a node reports with its heartbeat. */
export interface NodeLoad {
  connections: number;
  rooms: number;
  url?: string | undefined;
}

/** A member removed because its node died. */
export interface ReapedMember {
  room: string;
  memberId: string;
  remaining: readonly MemberRecord[];
}

interface Held {
  record: MemberRecord;
  capacity: number;
}

type Client = RedisClientType;

function parseIdentity(json: unknown, metaJson: unknown): MemberRecord & { seq: number } {
  const id = JSON.parse(String(json)) as { id: string; name: string; node: string; seq: number };
  let meta: Meta = {};
  try {
    const parsed = MetaSchema.safeParse(JSON.parse(String(metaJson)));
    if (parsed.success) meta = parsed.data;
  } catch {
    // A corrupt meta entry must not break the room: treat it as empty.
  }
  return { id: id.id, name: id.name, node: id.node, meta, seq: Number(id.seq) };
}

function records(identities: unknown, metas: unknown): MemberRecord[] {
  const ids = Array.isArray(identities) ? identities : [];
  const ms = Array.isArray(metas) ? metas : [];
  return ids
    .map((json, i) => parseIdentity(json, ms[i] ?? '{}'))
    .sort((a, b) => a.seq - b.seq)
    .map(({ seq: _seq, ...rec }) => rec);
}

export class RedisStore implements Store {
  readonly nodeId: string;
  /** Other nodes share this store: frames for members not held here are published. */
  readonly shared = true;
  private readonly keys: RedisKeys;
  private readonly cmd: Client;
  private readonly sub: Client;
  private readonly heartbeatMs: number;
  private readonly connectTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly healthListeners = new Set<(h: StoreHealth) => void>();
  private readonly envelopeHandlers = new Set<(e: Envelope) => void>();
  private readonly reapListeners = new Set<(m: ReapedMember) => void>();
  /** Members this node holds, by room: re-registered after a Redis restart. */
  private readonly held = new Map<string, Map<string, Held>>();
  /** Rooms whose channel this node is subscribed to (subscribe before join, so nothing is missed). */
  private readonly roomSubs = new Map<string, number>();
  private load: NodeLoad;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private up = false;
  private closed = false;
  private wasDown = false;

  constructor(options: RedisStoreOptions) {
    this.nodeId = options.nodeId ?? randomUUID().slice(0, 8);
    this.keys = new RedisKeys(options.keyPrefix ?? 'sigctl:');
    this.heartbeatMs = options.heartbeatMs ?? 3_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.load = { connections: 0, rooms: 0, url: options.publicUrl };
    const socket = {
      connectTimeout: 2_000,
      // Back off up to 2 s between attempts; never give up while the node runs.
      reconnectStrategy: (retries: number): number => Math.min(50 * 2 ** Math.min(retries, 6), 2_000) + Math.floor(Math.random() * 100),
    };
    this.cmd = createClient({ url: options.url, socket, disableOfflineQueue: true });
    this.sub = this.cmd.duplicate();
    for (const [name, client] of [
      ['commands', this.cmd],
      ['pubsub', this.sub],
    ] as const) {
      client.on('error', (err: Error) => {
        this.logger?.debug({ err: err.message, client: name }, 'redis client error');
        this.setHealth(false);
      });
      client.on('ready', () => this.onReady());
      client.on('end', () => this.setHealth(false));
    }
  }

  get healthy(): boolean {
    return this.up;
  }

  /** Connects both clients and starts the heartbeat. Throws UNAVAILABLE when Redis cannot be reached in time. */
  async start(): Promise<void> {
    const connect = Promise.all([this.cmd.connect(), this.sub.connect()]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SigctlError('UNAVAILABLE', `cannot reach Redis within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    });
    try {
      await Promise.race([connect, timeout]);
    } catch (err) {
      await this.close();
      throw err instanceof SigctlError ? err : new SigctlError('UNAVAILABLE', `cannot connect to Redis: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    this.setHealth(true);
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((err: unknown) => this.logger?.warn({ err: (err as Error).message }, 'node heartbeat failed'));
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  onHealth(listener: (health: StoreHealth) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  /** Members removed from rooms because their node died (reaped by this node). */
  onReap(listener: (m: ReapedMember) => void): () => void {
    this.reapListeners.add(listener);
    return () => this.reapListeners.delete(listener);
  }

  /** Load published with the next heartbeat and listed by nodes(). */
  reportLoad(load: NodeLoad): void {
    this.load = load;
  }

  private setHealth(up: boolean): void {
    if (this.closed || up === this.up) return;
    this.up = up;
    if (!up) this.wasDown = true;
    this.logger?.[up ? 'info' : 'warn']({ node: this.nodeId }, up ? 'redis reachable' : 'redis unreachable');
    for (const l of this.healthListeners) l(up ? 'up' : 'down');
  }

  private onReady(): void {
    if (this.closed || !this.cmd.isReady || !this.sub.isReady) return;
    if (this.wasDown) {
      this.wasDown = false;
      this.reregister()
        .then(() => this.setHealth(true))
        .catch((err: unknown) => this.logger?.warn({ err: (err as Error).message }, 're-registering members failed'));
    }
  }

  /** After an outage: put back every member this node still holds (Redis may have restarted empty). */
  private async reregister(): Promise<void> {
    for (const [room, members] of this.held) {
      for (const { record, capacity } of members.values()) await this.runJoin(room, record, capacity, true);
    }
    await this.heartbeat();
    this.logger?.info({ node: this.nodeId, rooms: this.held.size }, 're-registered members after redis outage');
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || !this.cmd.isReady) return;
    const info: NodeInfo = { id: this.nodeId, ...this.load, startedAt: this.startedAt, updatedAt: this.now() };
    await this.cmd.multi().set(this.keys.node(this.nodeId), JSON.stringify(info), { PX: this.heartbeatMs * 2 }).sAdd(this.keys.nodes(), this.nodeId).exec();
    await this.reapDead();
  }

  /** Live nodes with their load. */
  async nodes(): Promise<NodeInfo[]> {
    this.assertUp();
    const ids = await this.cmd.sMembers(this.keys.nodes());
    if (ids.length === 0) return [];
    const values = await this.cmd.mGet(ids.map((id) => this.keys.node(id)));
    const out: NodeInfo[] = [];
    for (const v of values) if (typeof v === 'string') out.push(JSON.parse(v) as NodeInfo);
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  private async reapDead(): Promise<void> {
    const ids = await this.cmd.sMembers(this.keys.nodes());
    for (const id of ids) {
      if (id === this.nodeId) continue;
      if ((await this.cmd.exists(this.keys.node(id))) === 1) continue;
      const locked = await this.cmd.set(this.keys.reapLock(id), this.nodeId, { NX: true, PX: 30_000 });
      if (locked !== 'OK') continue;
      const entries = await this.cmd.sMembers(this.keys.nodeMembers(id));
      let reaped = 0;
      for (const entry of entries) {
        const parsed = parseNodeMemberEntry(entry);
        if (parsed === undefined) continue;
        const result = await this.runLeave(parsed.room, parsed.memberId, id);
        if (result.removed) {
          reaped++;
          for (const l of this.reapListeners) l({ room: parsed.room, memberId: parsed.memberId, remaining: result.remaining });
        }
      }
      await this.cmd.multi().del(this.keys.nodeMembers(id)).sRem(this.keys.nodes(), id).exec();
      this.logger?.warn({ deadNode: id, reaped }, 'reaped members of a dead node');
    }
  }

  private assertUp(): void {
    if (!this.up || this.closed) throw new SigctlError('UNAVAILABLE', 'the room store (Redis) is unreachable');
  }

  private hold(room: string, record: MemberRecord, capacity: number): void {
    let m = this.held.get(room);
    if (m === undefined) this.held.set(room, (m = new Map<string, Held>()));
    m.set(record.id, { record, capacity });
  }

  private unhold(room: string, memberId: string): void {
    const m = this.held.get(room);
    if (m === undefined) return;
    m.delete(memberId);
    if (m.size === 0) this.held.delete(room);
  }

  private async subscribeRoom(room: string): Promise<void> {
    const n = this.roomSubs.get(room) ?? 0;
    this.roomSubs.set(room, n + 1);
    if (n === 0) await this.sub.subscribe(this.keys.channel(room), (message) => this.dispatch(message));
  }

  private async unsubscribeRoom(room: string): Promise<void> {
    const n = this.roomSubs.get(room) ?? 0;
    if (n <= 1) {
      this.roomSubs.delete(room);
      if (n === 1 && this.sub.isReady) await this.sub.unsubscribe(this.keys.channel(room));
    } else {
      this.roomSubs.set(room, n - 1);
    }
  }

  private dispatch(message: string): void {
    let env: Envelope;
    try {
      env = JSON.parse(message) as Envelope;
    } catch {
      return;
    }
    if (env.origin === this.nodeId || typeof env.frame !== 'string' || typeof env.room !== 'string') return;
    if (typeof env.moved === 'string' && this.held.get(env.room)?.has(env.moved) === true) {
      // The member resumed on the origin node: this node no longer holds it (nor re-registers it).
      this.unhold(env.room, env.moved);
      this.unsubscribeRoom(env.room).catch(() => undefined);
    }
    for (const h of this.envelopeHandlers) h(env);
  }

  private async runJoin(room: string, member: MemberRecord, capacity: number, force: boolean): Promise<JoinResult> {
    const k = this.keys;
    const identity = JSON.stringify({ id: member.id, name: member.name, node: member.node });
    const reply = (await this.cmd.eval(JOIN, {
      keys: [k.members(room), k.meta(room), k.capacity(room), k.seq(room), k.nodeMembers(member.node)],
      arguments: [member.id, identity, JSON.stringify(member.meta), String(capacity), nodeMemberEntry(room, member.id), force ? '1' : '0'],
    })) as [number, number, number, unknown[], unknown[]];
    const [ok, cap, ready, peers, metas] = reply;
    if (Number(ok) !== 1) return { ok: false, reason: 'full', capacity: Number(cap) };
    return { ok: true, peers: records(peers, metas), capacity: Number(cap), ready: Number(ready) === 1 };
  }

  private async runLeave(room: string, memberId: string, onlyIfNode: string): Promise<LeaveResult> {
    const k = this.keys;
    const reply = (await this.cmd.eval(LEAVE, {
      keys: [k.members(room), k.meta(room), k.capacity(room), k.seq(room), k.queue(room, memberId), k.queueDropped(room, memberId)],
      arguments: [memberId, nodeMemberEntry(room, memberId), onlyIfNode, `${k.prefix}node:`],
    })) as [number, unknown[], unknown[]];
    return { removed: Number(reply[0]) === 1, remaining: records(reply[1], reply[2]) };
  }

  async join(room: string, member: MemberRecord, capacity: number): Promise<JoinResult> {
    this.assertUp();
    const local = member.node === this.nodeId;
    // Subscribe first: a signal published right after the join must find us listening.
    if (local) await this.subscribeRoom(room);
    try {
      const result = await this.runJoin(room, member, capacity, false);
      if (!result.ok) {
        if (local) await this.unsubscribeRoom(room);
        return result;
      }
      if (local) {
        const already = this.held.get(room)?.has(member.id) === true;
        this.hold(room, member, result.capacity);
        if (already) await this.unsubscribeRoom(room);
      }
      return result;
    } catch (err) {
      if (local) await this.unsubscribeRoom(room).catch(() => undefined);
      throw this.wrap(err);
    }
  }

  async leave(room: string, memberId: string): Promise<LeaveResult> {
    const wasHeld = this.held.get(room)?.has(memberId) === true;
    this.unhold(room, memberId);
    if (wasHeld) await this.unsubscribeRoom(room).catch(() => undefined);
    this.assertUp();
    try {
      return await this.runLeave(room, memberId, '');
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async setMeta(room: string, memberId: string, meta: Meta): Promise<MemberRecord | undefined> {
    this.assertUp();
    const k = this.keys;
    try {
      const reply = (await this.cmd.eval(SET_META, { keys: [k.members(room), k.meta(room)], arguments: [memberId, JSON.stringify(meta)] })) as [string, string] | null;
      if (reply === null) return undefined;
      const { seq: _seq, ...rec } = parseIdentity(reply[0], reply[1]);
      const held = this.held.get(room)?.get(memberId);
      if (held !== undefined) held.record = rec;
      return rec;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async setNode(room: string, memberId: string, node: string): Promise<MemberRecord | undefined> {
    this.assertUp();
    const k = this.keys;
    const wasHeld = this.held.get(room)?.get(memberId);
    if (node === this.nodeId && wasHeld === undefined) await this.subscribeRoom(room);
    try {
      const reply = (await this.cmd.eval(SET_NODE, {
        keys: [k.members(room), k.meta(room)],
        arguments: [memberId, node, `${k.prefix}node:`, nodeMemberEntry(room, memberId)],
      })) as [string, string] | null;
      if (reply === null) {
        if (node === this.nodeId && wasHeld === undefined) await this.unsubscribeRoom(room);
        return undefined;
      }
      const { seq: _seq, ...rec } = parseIdentity(reply[0], reply[1]);
      if (node === this.nodeId) {
        const capacity = wasHeld?.capacity ?? (await this.capacity(room)) ?? 1;
        this.hold(room, rec, capacity);
      } else if (wasHeld !== undefined) {
        this.unhold(room, memberId);
        await this.unsubscribeRoom(room);
      }
      return rec;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async members(room: string): Promise<readonly MemberRecord[]> {
    this.assertUp();
    const k = this.keys;
    try {
      const reply = (await this.cmd.eval(MEMBERS, { keys: [k.members(room), k.meta(room)] })) as [unknown[], unknown[]];
      return records(reply[0], reply[1]);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async capacity(room: string): Promise<number | undefined> {
    this.assertUp();
    try {
      const v = await this.cmd.get(this.keys.capacity(room));
      return v === null ? undefined : Number(v);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async putResume(token: string, record: ResumeRecord): Promise<void> {
    this.assertUp();
    const ttl = Math.max(1, record.expiresAt - this.now());
    try {
      await this.cmd.set(this.keys.resume(token), JSON.stringify(record), { PX: ttl });
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async takeResume(token: string): Promise<ResumeRecord | undefined> {
    this.assertUp();
    try {
      const v = await this.cmd.getDel(this.keys.resume(token));
      if (v === null) return undefined;
      const rec = JSON.parse(v) as ResumeRecord;
      return rec.expiresAt > this.now() ? rec : undefined;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async enqueue(room: string, memberId: string, frame: string, max: number): Promise<void> {
    this.assertUp();
    // Queues outlive no reservation: they expire a minute after the last write whatever happens.
    try {
      await this.cmd.eval(ENQUEUE, { keys: [this.keys.queue(room, memberId), this.keys.queueDropped(room, memberId)], arguments: [frame, String(max), '60000'] });
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async drainQueue(room: string, memberId: string): Promise<QueueDrain> {
    this.assertUp();
    try {
      const reply = (await this.cmd.eval(DRAIN, { keys: [this.keys.queue(room, memberId), this.keys.queueDropped(room, memberId)] })) as [string[], number];
      return { frames: reply[0], dropped: Number(reply[1]) };
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async publish(envelope: Envelope): Promise<void> {
    if (!this.up) return; // at-most-once: an envelope during an outage is lost, membership is not
    try {
      await this.cmd.publish(this.keys.channel(envelope.room), JSON.stringify(envelope));
    } catch (err) {
      this.logger?.debug({ err: (err as Error).message }, 'publish failed');
    }
  }

  subscribe(handler: (envelope: Envelope) => void): () => void {
    this.envelopeHandlers.add(handler);
    return () => this.envelopeHandlers.delete(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    this.up = false;
    // A clean shutdown removes this node's liveness key; its members were removed by the server's drain.
    if (this.cmd.isReady) {
      await this.cmd
        .multi()
        .del(this.keys.node(this.nodeId))
        .sRem(this.keys.nodes(), this.nodeId)
        .exec()
        .catch(() => undefined);
    }
    for (const c of [this.cmd, this.sub]) {
      if (c.isOpen) await c.close().catch(() => c.destroy());
      else c.destroy();
    }
  }

  private wrap(err: unknown): unknown {
    if (err instanceof SigctlError) return err;
    this.setHealth(this.cmd.isReady);
    return new SigctlError('UNAVAILABLE', `room store (Redis) error: ${(err as Error).message}`, { cause: err });
  }
}
