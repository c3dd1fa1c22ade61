/**
 * The Redis store: room membership, capacity, resume records and queues shared by every node of a
 * cluster (docs/scaling.md). Membership changes are Lua scripts (redis-scripts.ts), so they are
 * atomic across nodes. The concerns live in their own modules, wired here:
 *
 * - redis-lifecycle.ts: the clients, health, probe, heartbeat, recovery after an outage, close;
 * - redis-channels.ts: cross-node delivery, a pub/sub channel per room and one per node (redis-envelope.ts);
 * - redis-held.ts: the members this node holds, restored after Redis lost its data;
 * - redis-commands.ts: every command, bounded in time, its reply parsed (redis-records.ts).
 *
 * Every value read back (member records, node entries, resume records, envelopes) is parsed with
 * a schema, never cast: a malformed one is an error with a catalogue code and a log line.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { SigctlError } from '../protocol/errors.js';
import type { Meta } from '../protocol/messages.js';
import { parseLinkAddress } from './node-link-wire.js';
import type { NodeLinks } from './node-links.js';
import { RoomChannels } from './redis-channels.js';
import type { RedisTarget } from './redis-client.js';
import { HeldMembers } from './redis-held.js';
import { RedisKeys } from './redis-keys.js';
import { RedisLifecycle } from './redis-lifecycle.js';
import type { ReapedMember } from './redis-liveness.js';
import { CorruptRecordError, parseResumeRecord } from './redis-records.js';
import type { Envelope, JoinResult, LeaveResult, MemberRecord, NodeLoad, NodeStatus, QueueDrain, ResumeRecord, RoomDetail, RoomPage, Store, StoreHealth } from './store.js';
import { RedisAdmin } from './redis-admin.js';

export interface RedisStoreOptions {
  /** A single Redis server's URL; or `target`, for any topology (redis-client.ts). One is needed. */
  url?: string;
  target?: RedisTarget;
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
  /**
   * Direct links to the other nodes (node-links.ts; config redis.links): the address to listen on
   * and advertise, the port (0: any free one) and the least time between two writes on a link
   * (coalesceMs, default 0). Default: 127.0.0.1, any port. `false`: every cross-node message goes
   * through Redis. Never used under Cluster.
   */
  links?: { host: string; port: number; coalesceMs?: number | undefined } | false | undefined;
}

export class RedisStore implements Store {
  readonly nodeId: string;
  /** Other nodes share this store: frames for members not held here are published. */
  readonly shared = true;
  private readonly life: RedisLifecycle;
  private readonly channels: RoomChannels;
  private readonly admin: RedisAdmin;
  /** Members this node holds, by room: restored after Redis lost its data. */
  private readonly held = new HeldMembers();
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly reapListeners = new Set<(m: ReapedMember) => void>();
  private readonly evictListeners = new Set<(m: { room: string; memberId: string }) => void>();
  private readonly resyncListeners = new Set<() => void>();

  constructor(options: RedisStoreOptions) {
    this.nodeId = options.nodeId ?? randomUUID().slice(0, 8);
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    const target: RedisTarget | undefined = options.target ?? (options.url === undefined ? undefined : { topology: 'single', url: options.url });
    if (target === undefined) throw new TypeError('RedisStore needs a url or a target');
    // Under Cluster the node keys share one slot and room channels are sharded (redis-keys.ts).
    const keys = new RedisKeys(options.keyPrefix ?? 'sigctl:', target.topology === 'cluster');
    const timeoutMs = options.timeoutMs ?? 1_000;
    const links = options.links === false ? undefined : (options.links ?? { host: '127.0.0.1', port: 0 });
    this.life = new RedisLifecycle(
      {
        target,
        nodeId: this.nodeId,
        keys,
        heartbeatMs: options.heartbeatMs ?? 3_000,
        connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
        timeoutMs,
        recoveryWindowMs: options.recoveryWindowMs ?? 5_000,
        logger: this.logger,
        now: this.now,
        publicUrl: options.publicUrl,
        link: () => {
          const address = this.channels.links?.address;
          return address === undefined ? undefined : JSON.stringify(address);
        },
      },
      {
        held: () => this.held.list(),
        holds: (room, memberId) => this.held.has(room, memberId),
        evict: async (room, memberId) => {
          this.held.unhold(room, memberId);
          await this.channels.unsubscribeRoom(room).catch(() => undefined);
          for (const l of this.evictListeners) l({ room, memberId });
        },
        released: (m) => {
          for (const l of this.reapListeners) l(m);
        },
        settled: () => {
          for (const l of this.resyncListeners) l();
        },
      },
    );
    this.admin = new RedisAdmin(this.life.cmd.commands, keys, timeoutMs);
    this.channels = new RoomChannels({
      sub: this.life.sub,
      db: this.life.db,
      keys,
      nodeId: this.nodeId,
      timeoutMs,
      logger: this.logger,
      wrap: (err) => this.life.wrap(err),
      moved: (room, memberId) => {
        // The member resumed on the origin node: this node no longer holds it (nor restores it).
        if (this.held.unhold(room, memberId)) this.channels.unsubscribeRoom(room).catch(() => undefined);
      },
      links: links && {
        ...links,
        lookup: async (node) => parseLinkAddress(await this.life.db.link(node)),
      },
    });
  }

  get healthy(): boolean {
    return this.life.healthy;
  }

  /** Connects both clients, listens to this node's channel and starts the heartbeat. Throws UNAVAILABLE when Redis cannot be reached in time. */
  async start(): Promise<void> {
    try {
      // Listening first: the first heartbeat advertises the links' address.
      await this.channels.startLinks();
      await this.life.start();
    } catch (err) {
      await this.channels.close();
      throw err instanceof SigctlError ? err : new SigctlError('UNAVAILABLE', `cannot listen for node links: ${(err as Error).message}`, { cause: err });
    }
    try {
      await this.channels.start();
    } catch (err) {
      await Promise.all([this.life.close(), this.channels.close()]);
      throw this.life.wrap(err);
    }
  }

  linkedNodes(): number {
    return this.channels.links?.syncedNodes().length ?? 0;
  }

  /** Direct links to other nodes (undefined when off or under Cluster): their state, for the admin view and tests. */
  get links(): NodeLinks | undefined {
    return this.channels.links;
  }

  onHealth(listener: (health: StoreHealth) => void): () => void {
    return this.life.onHealth(listener);
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
    this.life.liveness.load = load;
  }

  /** Live nodes with their load. */
  nodes(): Promise<NodeStatus[]> {
    return this.run(() => this.life.db.nodes());
  }

  async join(room: string, member: MemberRecord, capacity: number): Promise<JoinResult> {
    this.life.assertUp();
    const local = member.node === this.nodeId;
    // The room's envelopes wait until the server has taken the join in (RoomChannels.holdRoom).
    if (local) this.channels.holdRoom(room);
    try {
      // Subscribe first: a signal published right after the join must find us listening.
      if (local) await this.channels.subscribeRoom(room);
      const result = await this.runJoin(room, member, capacity);
      if (!result.ok) {
        if (local) await this.channels.unsubscribeRoom(room);
        return result;
      }
      // Join times are for the admin API only: written after the join, never waited for.
      this.admin.joined(room, member.id, this.now(), result.peers.length === 0).catch(() => undefined);
      if (local) {
        const already = this.held.has(room, member.id);
        this.held.hold(room, member, result.capacity);
        if (already) await this.channels.unsubscribeRoom(room);
      }
      return result;
    } catch (err) {
      if (local) await this.channels.unsubscribeRoom(room).catch(() => undefined);
      throw this.life.wrap(err);
    } finally {
      if (local) this.channels.releaseRoom(room);
    }
  }

  async leave(room: string, memberId: string): Promise<LeaveResult> {
    // Unheld at once: a leave that fails now is finished by the next recover() (releaseStale).
    if (this.held.unhold(room, memberId)) await this.channels.unsubscribeRoom(room).catch(() => undefined);
    return this.run(async () => {
      const result = await this.life.db.leave(room, memberId, '');
      if (result.removed) this.admin.left(room, memberId).catch(() => undefined);
      return result;
    });
  }

  setMeta(room: string, memberId: string, meta: Meta): Promise<MemberRecord | undefined> {
    return this.run(async () => {
      const rec = await this.life.db.setMeta(room, memberId, meta);
      if (rec !== undefined) this.held.update(room, rec);
      return rec;
    });
  }

  async setNode(room: string, memberId: string, node: string): Promise<MemberRecord | undefined> {
    this.life.assertUp();
    const wasHeld = this.held.get(room, memberId);
    const arriving = node === this.nodeId && wasHeld === undefined;
    try {
      if (arriving) await this.channels.subscribeRoom(room);
      const rec = await this.life.db.setNode(room, memberId, node);
      if (rec === undefined) {
        if (arriving) await this.channels.unsubscribeRoom(room);
        return undefined;
      }
      if (node === this.nodeId) {
        const capacity = wasHeld?.capacity ?? (await this.life.db.capacity(room)) ?? 1;
        this.held.hold(room, rec, capacity);
      } else if (wasHeld !== undefined) {
        this.held.unhold(room, memberId);
        await this.channels.unsubscribeRoom(room);
      }
      return rec;
    } catch (err) {
      throw this.life.wrap(err);
    }
  }

  members(room: string): Promise<readonly MemberRecord[]> {
    return this.run(() => this.life.db.members(room));
  }

  capacity(room: string): Promise<number | undefined> {
    return this.run(() => this.life.db.capacity(room));
  }

  listRooms(options: { readonly limit: number; readonly after?: string | undefined }): Promise<RoomPage> {
    return this.run(() => this.admin.listRooms(options));
  }

  roomDetail(room: string): Promise<RoomDetail | undefined> {
    return this.run(() => this.admin.roomDetail(room, (r) => this.life.db.members(r)));
  }

  putResume(token: string, record: ResumeRecord): Promise<void> {
    return this.run(() => this.life.db.putResume(token, record, Math.max(1, record.expiresAt - this.now())));
  }

  /** Takes a reservation; a corrupt one is gone (GETDEL) and rejects with INTERNAL, logged. */
  takeResume(token: string): Promise<ResumeRecord | undefined> {
    return this.run(async () => {
      const v = await this.life.db.takeResume(token);
      if (v === null) return undefined;
      let rec: ResumeRecord;
      try {
        rec = parseResumeRecord(v);
      } catch (err) {
        if (err instanceof CorruptRecordError) this.logger?.error({ code: err.code, err: err.message }, 'dropped a corrupt resume record');
        throw err;
      }
      return rec.expiresAt > this.now() ? rec : undefined;
    });
  }

  enqueue(room: string, memberId: string, frame: string, max: number, holder?: string): Promise<boolean> {
    // Queues outlive no reservation: they expire a minute after the last write whatever happens.
    return this.run(() => this.life.db.enqueue(room, memberId, frame, max, 60_000, holder));
  }

  drainQueue(room: string, memberId: string): Promise<QueueDrain> {
    return this.run(() => this.life.db.drain(room, memberId));
  }

  /**
   * Publishes to the room's channel, or to `node`'s own channel when the caller knows every
   * recipient is there (redis-channels.ts). Resolves with the number of other nodes that received
   * it (a node subscribes to a room while it holds members of it, this one included, and to its
   * own channel); rejects with UNAVAILABLE when Redis is down or does not answer in time, so the
   * server can tell the sender.
   */
  publish(envelope: Envelope, node?: string): Promise<number> {
    // Not through run(): one promise and one await fewer per signal (the channels wrap their errors as run does).
    const down = this.life.downError();
    return down === undefined ? this.channels.publish(envelope, node) : Promise.reject(down);
  }

  subscribe(handler: (envelope: Envelope, direct: boolean) => void): () => void {
    return this.channels.onEnvelope(handler);
  }

  async close(): Promise<void> {
    await Promise.all([this.life.close(), this.channels.close()]);
  }

  /** Runs a store operation while Redis is up; its errors become catalogue errors (UNAVAILABLE). */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    this.life.assertUp();
    try {
      return await op();
    } catch (err) {
      throw this.life.wrap(err);
    }
  }

  private async runJoin(room: string, member: MemberRecord, capacity: number): Promise<JoinResult> {
    const reply = await this.life.db.join(room, member, capacity, 'join', this.life.epoch);
    if (reply.ok || reply.reason === 'full') return reply;
    if (reply.reason === 'stale-epoch') {
      this.life.triggerRecover('epoch changed');
      throw new SigctlError('UNAVAILABLE', 'the room store (Redis) lost its data and is being restored; try again shortly');
    }
    throw new SigctlError('UNAVAILABLE', 'the room store (Redis) is being restored after a data loss; try again shortly');
  }
}
