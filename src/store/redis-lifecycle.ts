/**
 * The Redis store's connection lifecycle: the two clients (commands, pub/sub), health, the probe,
 * the heartbeat, recovery after an outage, and close.
 *
 * Faults (docs/reliability.md): every command is bounded by `timeoutMs`, and a PING probes Redis
 * every quarter of it, so a frozen Redis is `down` within ~1.25 x timeoutMs. Down means: joins
 * refused, publishes rejected (the server tells the sender), readyz 503. Coming back runs
 * `recover()` (redis-recovery.ts), one at a time.
 *
 * Liveness (redis-liveness.ts): every node refreshes `node:<id>` (TTL 2 heartbeats) and its load;
 * on every heartbeat each node looks for nodes whose key has expired and reaps their members.
 */
import { randomUUID } from 'node:crypto';
import { openRedis, type RedisLink, type RedisTarget } from './redis-client.js';
import type { Logger } from 'pino';
import { SigctlError } from '../protocol/errors.js';
import { RedisCommands } from './redis-commands.js';
import { DeadlineError, withDeadline } from './redis-deadline.js';
import type { HeldMember } from './redis-held.js';
import type { RedisKeys } from './redis-keys.js';
import { NodeLiveness, type ReapedMember } from './redis-liveness.js';
import { recover, type RecoveryHost } from './redis-recovery.js';
import type { StoreHealth } from './store.js';

/** What the lifecycle needs to know about, and tell, the store. */
export interface LifecycleHooks {
  /** Every member this node holds. */
  held(): HeldMember[];
  holds(room: string, memberId: string): boolean;
  /** A member that could not be restored after a data loss: forget it and tell the server. */
  evict(room: string, memberId: string): Promise<void>;
  /** A member removed on another's behalf (a dead node's, or a leave that failed during an outage). */
  released(m: ReapedMember): void;
  /** A recovery is complete cluster-wide: membership frames may have been lost. */
  settled(): void;
}

export interface LifecycleOptions {
  /** A single Redis, a Sentinel-managed master, or a Cluster (redis-client.ts). */
  target: RedisTarget;
  nodeId: string;
  keys: RedisKeys;
  heartbeatMs: number;
  connectTimeoutMs: number;
  timeoutMs: number;
  recoveryWindowMs: number;
  logger: Logger | undefined;
  now: () => number;
  publicUrl: string | undefined;
  /** This node's link address as advertised (JSON), refreshed with the heartbeat (node-links.ts). */
  link?: (() => string | undefined) | undefined;
}

/** Back off 50 ms doubling to 2 s between attempts, with jitter. */
const reconnectStrategy = (retries: number): number => Math.min(50 * 2 ** Math.min(retries, 6), 2_000) + Math.floor(Math.random() * 100);

/** Connections, health and recovery of one node's Redis store (see the module comment). */
export class RedisLifecycle {
  readonly cmd: RedisLink;
  readonly sub: RedisLink;
  readonly db: RedisCommands;
  readonly liveness: NodeLiveness;
  private readonly healthListeners = new Set<(h: StoreHealth) => void>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private up = false;
  private closed = false;
  /** Set once start() succeeded: before that a client's 'ready' is part of starting, not a recovery. */
  private started = false;
  /** The Redis data generation this node's members are recorded in (see BEGIN_EPOCH). */
  private epochValue = '';
  private recovering: Promise<void> | undefined;
  private recoverAgain = false;
  private readonly recoveryHost: RecoveryHost;

  constructor(
    private readonly o: LifecycleOptions,
    private readonly hooks: LifecycleHooks,
  ) {
    // Never give up while the node runs.
    const socket = { connectTimeout: 2_000, reconnectStrategy };
    this.cmd = openRedis(o.target, socket);
    this.sub = openRedis(o.target, socket);
    this.db = new RedisCommands(this.cmd.commands, o.keys, o.timeoutMs);
    this.liveness = new NodeLiveness({ db: this.db, nodeId: o.nodeId, heartbeatMs: o.heartbeatMs, now: o.now, logger: o.logger, link: o.link });
    // Listed with its public URL from the first heartbeat on, before the server reports its load.
    this.liveness.load = { connections: 0, rooms: 0, url: o.publicUrl };
    for (const [name, client] of [
      ['commands', this.cmd],
      ['pubsub', this.sub],
    ] as const) {
      client.on('error', (err) => {
        o.logger?.debug({ err: err?.message, client: name }, 'redis client error');
        this.setHealth(false);
      });
      client.on('ready', () => {
        if (this.started && !this.up) this.triggerRecover('reconnected');
      });
      client.on('end', () => this.setHealth(false));
    }
    this.recoveryHost = {
      nodeId: o.nodeId,
      db: this.db,
      liveness: this.liveness,
      windowMs: o.recoveryWindowMs,
      logger: o.logger,
      now: o.now,
      open: () => !this.closed,
      getEpoch: () => this.epochValue,
      setEpoch: (e) => {
        this.epochValue = e;
      },
      held: () => hooks.held(),
      holds: (room, memberId) => hooks.holds(room, memberId),
      restore: (room, record, capacity) => this.db.join(room, record, capacity, 'restore', this.epochValue),
      evict: (room, memberId) => hooks.evict(room, memberId),
      released: (m) => hooks.released(m),
      recovered: () => this.setHealth(true),
      settled: () => {
        if (this.up) hooks.settled();
      },
    };
  }

  get healthy(): boolean {
    return this.up;
  }

  /** The epoch this node's members are recorded in. */
  get epoch(): string {
    return this.epochValue;
  }

  /** Connects both clients and starts the heartbeat. Throws UNAVAILABLE when Redis cannot be reached in time. */
  async start(): Promise<void> {
    try {
      await withDeadline(Promise.all([this.cmd.connect(), this.sub.connect()]), this.o.connectTimeoutMs, 'the connection');
      // A new Redis gets its first epoch here; a node joining a running cluster adopts the current one.
      this.epochValue = await this.db.beginEpoch(randomUUID(), 0, []);
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
      this.heartbeat().catch((err: unknown) => this.o.logger?.warn({ err: (err as Error).message }, 'node heartbeat failed'));
    }, this.o.heartbeatMs);
    this.heartbeatTimer.unref();
    this.probeTimer = setInterval(() => this.probe(), Math.max(10, Math.floor(this.o.timeoutMs / 4)));
    this.probeTimer.unref();
  }

  onHealth(listener: (health: StoreHealth) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  /** Throws UNAVAILABLE unless Redis is up. */
  assertUp(): void {
    const down = this.downError();
    if (down !== undefined) throw down;
  }

  /** UNAVAILABLE while Redis is not up; undefined while it is. */
  downError(): SigctlError | undefined {
    return !this.up || this.closed ? new SigctlError('UNAVAILABLE', 'the room store (Redis) is unreachable') : undefined;
  }

  /** The error a store operation rejects with; notes a Redis that stopped answering. */
  wrap(err: unknown): Error {
    // A command that timed out means Redis is not answering, even though its socket is open.
    if (err instanceof DeadlineError) this.setHealth(false);
    else if (!this.cmd.isReady) this.setHealth(false);
    if (err instanceof SigctlError) return err;
    return new SigctlError('UNAVAILABLE', `room store (Redis) error: ${(err as Error).message}`, { cause: err });
  }

  /** Runs recover() once at a time; a trigger during a run runs it again after. */
  triggerRecover(why: string): void {
    if (this.closed) return;
    this.setHealth(false);
    if (this.recovering !== undefined) {
      this.recoverAgain = true;
      return;
    }
    this.recovering = this.recover(why)
      .catch((err: unknown) => this.o.logger?.warn({ err: (err as Error).message, why }, 'redis recovery failed; retrying when Redis answers'))
      .finally(() => {
        this.recovering = undefined;
        if (this.recoverAgain && !this.closed) {
          this.recoverAgain = false;
          this.triggerRecover('again');
        }
      });
  }

  /** Stops the timers, unregisters this node and closes both clients. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.probeTimer);
    this.up = false;
    // A clean shutdown removes this node's liveness key; its members were removed by the server's drain.
    if (this.cmd.isReady) {
      await this.db.unregister(this.o.nodeId).catch(() => undefined);
    }
    for (const c of [this.cmd, this.sub]) {
      if (c.isOpen) await this.db.bound(c.close(), 'QUIT').catch(() => c.destroy());
      else c.destroy();
    }
  }

  private setHealth(up: boolean): void {
    if (this.closed || up === this.up) return;
    this.up = up;
    this.o.logger?.info({ node: this.o.nodeId, health: up ? 'up' : 'down' }, 'redis store health');
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

  /** See redis-recovery.ts. Leaves the store up, or throws (the next probe or reconnect retries). */
  private async recover(why: string): Promise<void> {
    if (!this.cmd.isReady || !this.sub.isReady) return; // the other client's 'ready' triggers again
    await recover(this.recoveryHost, why);
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || !this.up || !this.cmd.isReady) return;
    const { had, epoch } = await this.liveness.beat();
    if (epoch !== this.epochValue || !had) {
      // Data lost without a disconnect (FLUSHALL, failover), or our key expired (a freeze or a
      // stall longer than 2 heartbeats): survivors may have reaped us. Restore.
      this.triggerRecover(epoch !== this.epochValue ? 'epoch changed' : 'liveness key expired');
      return;
    }
    await this.liveness.reap((m) => this.hooks.released(m));
  }
}
