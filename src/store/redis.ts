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
 * Faults (docs/reliability.md): every command is bounded by `timeoutMs`, and a PING probes Redis
 * every quarter of it, so a frozen Redis is `down` within ~1.25 x timeoutMs. Down means: joins
 * refused, publishes rejected (the server tells the sender), readyz 503. Coming back runs
 * `recover()`, one at a time: compare the epoch (a Redis that lost its data has another, or none),
 * open a recovery window on a data loss (joins wait until every node seen alive has restored, or
 * the window ends), restore this node's members under the capacity check (a member that no longer
 * fits is evicted: onEvict), finish leaves that failed during the outage, and once the window has
 * closed, ask the server to re-check what its clients were told (onResync).
 */
import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from 'pino';
import { SigctlError } from '../protocol/errors.js';
import type { Meta } from '../protocol/messages.js';
import { RedisAdmin } from './redis-admin.js';
import { RedisCommands } from './redis-commands.js';
import { DeadlineError, withDeadline } from './redis-deadline.js';
import { RedisKeys } from './redis-keys.js';
import { NodeLiveness, type ReapedMember } from './redis-liveness.js';
import { recover, type RecoveryHost } from './redis-recovery.js';
import type { Envelope, JoinResult, LeaveResult, MemberRecord, NodeLoad, NodeStatus, QueueDrain, ResumeRecord, RoomDetail, RoomPage, Store, StoreHealth } from './store.js';

export interface RedisStoreOptions {
  url: string;
  keyPrefix?: string;
  nodeId?: string;
  /** Heartbeat period; a node is dead after 2 missed periods and reaped on the next one. */
  heartbeatMs?: number;
  /** How long start() waits for the first connection. */
  connectTimeoutMs?: number;
  /** Bound of every command and of the health PING (config redis.timeoutMs). */
  timeoutMs?: number;
  /** Longest wait for the other nodes to restore after a data loss (config redis.recoveryWindowMs). */
  recoveryWindowMs?: number;
  logger?: Logger | undefined;
  now?: () => number;
  /** This node's public WebSocket URL (config publicUrl): listed from the first heartbeat on. */
  publicUrl?: string | undefined;
}

interface Held {
  record: MemberRecord;
  capacity: number;
}

/** Back off 50 ms doubling to 2 s between attempts, with jitter. */
const reconnectStrategy = (retries: number): number => Math.min(50 * 2 ** Math.min(retries, 6), 2_000) + Math.floor(Math.random() * 100);

export class RedisStore implements Store {
  readonly nodeId: string;
  /** Other nodes share this store: frames for members not held here are published. */
  readonly shared = true;
  private readonly keys: RedisKeys;
  private readonly cmd: RedisClientType;
  private readonly sub: RedisClientType;
  private readonly db: RedisCommands;
  private readonly admin: RedisAdmin;
  private readonly heartbeatMs: number;
  private readonly connectTimeoutMs: number;
  private readonly timeoutMs: number;
  private readonly recoveryWindowMs: number;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly liveness: NodeLiveness;
  private readonly healthListeners = new Set<(h: StoreHealth) => void>();
  private readonly envelopeHandlers = new Set<(e: Envelope) => void>();
  private readonly reapListeners = new Set<(m: ReapedMember) => void>();
  private readonly evictListeners = new Set<(m: { room: string; memberId: string }) => void>();
  private readonly resyncListeners = new Set<() => void>();
  /** Members this node holds, by room: restored after Redis lost its data. */
  private readonly held = new Map<string, Map<string, Held>>();
  /** Rooms whose channel this node is subscribed to (subscribe before join, so nothing is missed). */
  private readonly roomSubs = new Map<string, number>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private up = false;
  private closed = false;
  /** Set once start() succeeded: before that a client's 'ready' is part of starting, not a recovery. */
  private started = false;
  /** The Redis data generation this node's members are recorded in (see BEGIN_EPOCH). */
  private epoch = '';
  private recovering: Promise<void> | undefined;
  private recoverAgain = false;
  private readonly recoveryHost: RecoveryHost;

  constructor(options: RedisStoreOptions) {
    this.nodeId = options.nodeId ?? randomUUID().slice(0, 8);
    this.keys = new RedisKeys(options.keyPrefix ?? 'sigctl:');
    this.heartbeatMs = options.heartbeatMs ?? 3_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.recoveryWindowMs = options.recoveryWindowMs ?? 5_000;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    // Never give up while the node runs.
    const socket = { connectTimeout: 2_000, reconnectStrategy };
    this.cmd = createClient({ url: options.url, socket, disableOfflineQueue: true });
    this.sub = this.cmd.duplicate();
    this.db = new RedisCommands(this.cmd, this.keys, this.timeoutMs);
    this.admin = new RedisAdmin(this.cmd, this.keys, this.timeoutMs);
    this.liveness = new NodeLiveness({ db: this.db, nodeId: this.nodeId, heartbeatMs: this.heartbeatMs, now: this.now, logger: this.logger });
    // Listed with its public URL from the first heartbeat on, before the server reports its load.
    this.liveness.load = { connections: 0, rooms: 0, url: options.publicUrl };
    for (const [name, client] of [
      ['commands', this.cmd],
      ['pubsub', this.sub],
    ] as const) {
      client.on('error', (err: Error) => {
        this.logger?.debug({ err: err.message, client: name }, 'redis client error');
        this.setHealth(false);
      });
      client.on('ready', () => {
        if (this.started && !this.up) this.triggerRecover('reconnected');
      });
      client.on('end', () => this.setHealth(false));
    }
    this.recoveryHost = {
      nodeId: this.nodeId,
      db: this.db,
      liveness: this.liveness,
      windowMs: this.recoveryWindowMs,
      logger: this.logger,
      now: this.now,
      open: () => !this.closed,
      getEpoch: () => this.epoch,
      setEpoch: (e) => {
        this.epoch = e;
      },
      held: () => [...this.held].flatMap(([room, members]) => [...members.values()].map(({ record, capacity }) => ({ room, record, capacity }))),
      holds: (room, memberId) => this.held.get(room)?.has(memberId) === true,
      restore: (room, record, capacity) => this.db.join(room, record, capacity, 'restore', this.epoch),
      evict: async (room, memberId) => {
        this.unhold(room, memberId);
        await this.unsubscribeRoom(room).catch(() => undefined);
        for (const l of this.evictListeners) l({ room, memberId });
      },
      released: (m) => {
        for (const l of this.reapListeners) l(m);
      },
      recovered: () => this.setHealth(true),
      settled: () => {
        if (!this.up) return;
        for (const l of this.resyncListeners) l();
      },
    };
  }

  get healthy(): boolean {
    return this.up;
  }

  /** Connects both clients and starts the heartbeat. Throws UNAVAILABLE when Redis cannot be reached in time. */
  async start(): Promise<void> {
    try {
      await withDeadline(Promise.all([this.cmd.connect(), this.sub.connect()]), this.connectTimeoutMs, 'the connection');
      // A new Redis gets its first epoch here; a node joining a running cluster adopts the current one.
      this.epoch = await this.db.beginEpoch(randomUUID(), 0, []);
      await this.liveness.beat();
      await this.liveness.scan();
    } catch (err) {
      await this.close();
      throw err instanceof SigctlError ? err : new SigctlError('UNAVAILABLE', `cannot connect to Redis: ${(err as Error).message}`, { cause: err });
    }
    this.liveness.cameUp();
    this.started = true;
    this.setHealth(true);
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((err: unknown) => this.logger?.warn({ err: (err as Error).message }, 'node heartbeat failed'));
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
    this.probeTimer = setInterval(() => this.probe(), Math.max(10, Math.floor(this.timeoutMs / 4)));
    this.probeTimer.unref();
  }

  onHealth(listener: (health: StoreHealth) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  /** Members removed from rooms by this node on another's behalf (a dead node's, or leaves that failed during an outage). */
  onReap(listener: (m: ReapedMember) => void): () => void {
    this.reapListeners.add(listener);
    return () => this.reapListeners.delete(listener);
  }

  /** Members of this node that could not be restored after a data loss (their room filled meanwhile). */
  onEvict(listener: (m: { room: string; memberId: string }) => void): () => void {
    this.evictListeners.add(listener);
    return () => this.evictListeners.delete(listener);
  }

  /** Called once a recovery is complete cluster-wide: membership frames may have been lost. */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** Load published with the next heartbeat and listed by nodes(). */
  reportLoad(load: NodeLoad): void {
    this.liveness.load = load;
  }

  private setHealth(up: boolean): void {
    if (this.closed || up === this.up) return;
    this.up = up;
    this.logger?.info({ node: this.nodeId, health: up ? 'up' : 'down' }, 'redis store health');
    for (const l of this.healthListeners) l(up ? 'up' : 'down');
  }

  /** A bounded PING: the only way to notice a Redis that keeps its sockets open but does not answer. */
  private probe(): void {
    if (this.closed || this.probing || !this.cmd.isReady) return;
    this.probing = true;
    this.db.ping().then(
      () => {
        this.probing = false;
        if (!this.up && this.recovering === undefined) this.triggerRecover('answering again');
      },
      () => {
        this.probing = false;
        this.setHealth(false);
      },
    );
  }

  /** Runs recover() once at a time; a trigger during a run runs it again after. */
  private triggerRecover(why: string): void {
    if (this.closed) return;
    this.setHealth(false);
    if (this.recovering !== undefined) {
      this.recoverAgain = true;
      return;
    }
    this.recovering = this.recover(why)
      .catch((err: unknown) => this.logger?.warn({ err: (err as Error).message, why }, 'redis recovery failed; retrying when Redis answers'))
      .finally(() => {
        this.recovering = undefined;
        if (this.recoverAgain && !this.closed) {
          this.recoverAgain = false;
          this.triggerRecover('again');
        }
      });
  }

  /** See redis-recovery.ts. Leaves the store up, or throws (the next probe or reconnect retries). */
  private async recover(why: string): Promise<void> {
    if (!this.cmd.isReady || !this.sub.isReady) return; // the other client's 'ready' triggers again
    await recover(this.recoveryHost, why);
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || !this.up || !this.cmd.isReady) return;
    const { had, epoch } = await this.liveness.beat();
    if (epoch !== this.epoch || !had) {
      // Data lost without a disconnect (FLUSHALL, failover), or our key expired (a freeze or a
      // stall longer than 2 heartbeats): survivors may have reaped us. Restore.
      this.triggerRecover(epoch !== this.epoch ? 'epoch changed' : 'liveness key expired');
      return;
    }
    await this.liveness.reap((m) => {
      for (const l of this.reapListeners) l(m);
    });
  }

  /** Live nodes with their load. */
  async nodes(): Promise<NodeStatus[]> {
    this.assertUp();
    try {
      return await this.db.nodes();
    } catch (err) {
      throw this.wrap(err);
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
    if (n === 0) await this.db.bound(this.sub.subscribe(this.keys.channel(room), (message) => this.dispatch(message)), 'SUBSCRIBE');
  }

  private async unsubscribeRoom(room: string): Promise<void> {
    const n = this.roomSubs.get(room) ?? 0;
    if (n <= 1) {
      this.roomSubs.delete(room);
      if (n === 1 && this.sub.isReady) await this.db.bound(this.sub.unsubscribe(this.keys.channel(room)), 'UNSUBSCRIBE');
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
      // The member resumed on the origin node: this node no longer holds it (nor restores it).
      this.unhold(env.room, env.moved);
      this.unsubscribeRoom(env.room).catch(() => undefined);
    }
    for (const h of this.envelopeHandlers) h(env);
  }

  private async runJoin(room: string, member: MemberRecord, capacity: number, mode: 'join' | 'restore'): Promise<JoinResult> {
    const reply = await this.db.join(room, member, capacity, mode, this.epoch);
    if (reply.ok || reply.reason === 'full') return reply;
    if (reply.reason === 'stale-epoch') {
      this.triggerRecover('epoch changed');
      throw new SigctlError('UNAVAILABLE', 'the room store (Redis) lost its data and is being restored; try again shortly');
    }
    throw new SigctlError('UNAVAILABLE', 'the room store (Redis) is being restored after a data loss; try again shortly');
  }

  async join(room: string, member: MemberRecord, capacity: number): Promise<JoinResult> {
    this.assertUp();
    const local = member.node === this.nodeId;
    try {
      // Subscribe first: a signal published right after the join must find us listening.
      if (local) await this.subscribeRoom(room);
      const result = await this.runJoin(room, member, capacity, 'join');
      if (!result.ok) {
        if (local) await this.unsubscribeRoom(room);
        return result;
      }
      // Join times are for the admin API only: written after the join, never waited for.
      this.admin.joined(room, member.id, this.now(), result.peers.length === 0).catch(() => undefined);
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
    // Unheld at once: a leave that fails now is finished by the next recover() (releaseStale).
    this.unhold(room, memberId);
    if (wasHeld) await this.unsubscribeRoom(room).catch(() => undefined);
    this.assertUp();
    try {
      const result = await this.db.leave(room, memberId, '');
      if (result.removed) this.admin.left(room, memberId).catch(() => undefined);
      return result;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async setMeta(room: string, memberId: string, meta: Meta): Promise<MemberRecord | undefined> {
    this.assertUp();
    try {
      const rec = await this.db.setMeta(room, memberId, meta);
      const held = this.held.get(room)?.get(memberId);
      if (rec !== undefined && held !== undefined) held.record = rec;
      return rec;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async setNode(room: string, memberId: string, node: string): Promise<MemberRecord | undefined> {
    this.assertUp();
    const wasHeld = this.held.get(room)?.get(memberId);
    const arriving = node === this.nodeId && wasHeld === undefined;
    try {
      if (arriving) await this.subscribeRoom(room);
      const rec = await this.db.setNode(room, memberId, node);
      if (rec === undefined) {
        if (arriving) await this.unsubscribeRoom(room);
        return undefined;
      }
      if (node === this.nodeId) {
        const capacity = wasHeld?.capacity ?? (await this.db.capacity(room)) ?? 1;
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
    try {
      return await this.db.members(room);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async capacity(room: string): Promise<number | undefined> {
    this.assertUp();
    try {
      return await this.db.capacity(room);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async listRooms(options: { readonly limit: number; readonly after?: string | undefined }): Promise<RoomPage> {
    this.assertUp();
    try {
      return await this.admin.listRooms(options);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async roomDetail(room: string): Promise<RoomDetail | undefined> {
    this.assertUp();
    try {
      return await this.admin.roomDetail(room, (r) => this.db.members(r));
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async putResume(token: string, record: ResumeRecord): Promise<void> {
    this.assertUp();
    try {
      await this.db.putResume(token, record, Math.max(1, record.expiresAt - this.now()));
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async takeResume(token: string): Promise<ResumeRecord | undefined> {
    this.assertUp();
    try {
      const v = await this.db.takeResume(token);
      if (v === null) return undefined;
      const rec = JSON.parse(v) as ResumeRecord;
      return rec.expiresAt > this.now() ? rec : undefined;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async enqueue(room: string, memberId: string, frame: string, max: number): Promise<void> {
    this.assertUp();
    try {
      // Queues outlive no reservation: they expire a minute after the last write whatever happens.
      await this.db.enqueue(room, memberId, frame, max, 60_000);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async drainQueue(room: string, memberId: string): Promise<QueueDrain> {
    this.assertUp();
    try {
      return await this.db.drain(room, memberId);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /**
   * Publishes to the room's channel. Resolves with the number of other nodes that received it (a
   * node subscribes to a room while it holds members of it, this one included); rejects with
   * UNAVAILABLE when Redis is down or does not answer in time, so the server can tell the sender.
   */
  async publish(envelope: Envelope): Promise<number> {
    this.assertUp();
    try {
      const receivers = await this.db.publish(envelope.room, JSON.stringify(envelope));
      const self = this.sub.isReady && this.roomSubs.has(envelope.room) ? 1 : 0;
      return Math.max(0, receivers - self);
    } catch (err) {
      throw this.wrap(err);
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
    clearInterval(this.probeTimer);
    this.up = false;
    // A clean shutdown removes this node's liveness key; its members were removed by the server's drain.
    if (this.cmd.isReady) {
      await this.db.unregister(this.nodeId).catch(() => undefined);
    }
    for (const c of [this.cmd, this.sub]) {
      if (c.isOpen) await this.db.bound(c.close(), 'QUIT').catch(() => c.destroy());
      else c.destroy();
    }
  }

  private wrap(err: unknown): unknown {
    // A command that timed out means Redis is not answering, even though its socket is open.
    if (err instanceof DeadlineError) this.setHealth(false);
    else if (!this.cmd.isReady) this.setHealth(false);
    if (err instanceof SigctlError) return err;
    return new SigctlError('UNAVAILABLE', `room store (Redis) error: ${(err as Error).message}`, { cause: err });
  }
}
