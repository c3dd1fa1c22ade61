/**
 * Cross-node delivery over Redis pub/sub: one channel per room. A node subscribes to a room's
 * channel while it holds members of the room (subscribe before join, so nothing published after
 * the join is missed), so each envelope reaches only the nodes that need it and the publisher
 * needs no membership lookup per message. Pub/sub is at-most-once; membership never depends on it.
 *
 * Publishes are batched per event-loop turn: every envelope published to one room before the next
 * `setImmediate` goes out in one PUBLISH (redis-envelope.ts), in the order published, and the
 * turn's PUBLISHes share one deadline (one timer, not one per signal). So a burst costs one
 * command, one write and one subscriber message per room instead of one per envelope, and order
 * per sender is kept: a sender is in one room, a room's envelopes leave in order on one connection,
 * and Redis delivers one channel's messages in order.
 */
import type { RedisLink } from './redis-client.js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { RedisCommands } from './redis-commands.js';
import { DeadlineError } from './redis-deadline.js';
import { decodeEnvelopes, encodeEnvelopes, messageOrigin, messageStamp, type EnvelopeStamp } from './redis-envelope.js';
import type { RedisKeys } from './redis-keys.js';
import type { Envelope } from './store.js';

export interface RoomChannelsOptions {
  /** The link in subscriber mode (sharded pub/sub under Cluster). */
  sub: RedisLink;
  db: RedisCommands;
  keys: RedisKeys;
  nodeId: string;
  /** Bound of one turn's PUBLISHes (config redis.timeoutMs). */
  timeoutMs: number;
  logger: Logger | undefined;
  /** An envelope said `memberId` resumed on another node (called before the handlers). */
  moved(room: string, memberId: string): void;
}

/** Envelopes waiting for this turn's PUBLISH to one room, with their callers. */
interface Batch {
  readonly room: string;
  readonly envelopes: Envelope[];
  readonly waiters: Array<{ resolve: (receivers: number) => void; reject: (err: unknown) => void }>;
  done: boolean;
}

/** Room channels this node listens to, and the envelopes on them. */
export class RoomChannels {
  /** Subscriptions by room, counted (one per held member). */
  private readonly subs = new Map<string, number>();
  private readonly handlers = new Set<(e: Envelope) => void>();
  private pending = new Map<string, Batch>();
  private flushScheduled = false;
  /** This store's messages are numbered `<boot>.<seq>` (redis-envelope.ts): new per start. */
  private readonly boot = randomBytes(4).toString('hex');
  private seq = 0;
  /** The newest stamp taken per room and origin: an older message is a late re-send, dropped. */
  private readonly newest = new Map<string, Map<string, EnvelopeStamp>>();

  constructor(private readonly o: RoomChannelsOptions) {}

  /** Counts one more reason to listen to `room`; subscribes on the first. */
  async subscribeRoom(room: string): Promise<void> {
    const n = this.subs.get(room) ?? 0;
    this.subs.set(room, n + 1);
    if (n === 0) await this.o.db.bound(this.o.sub.pubsub.subscribe(this.o.keys.channel(room), (message) => this.dispatch(message)), 'SUBSCRIBE');
  }

  /** Counts one reason less; unsubscribes on the last. */
  async unsubscribeRoom(room: string): Promise<void> {
    const n = this.subs.get(room) ?? 0;
    if (n <= 1) {
      this.subs.delete(room);
      this.newest.delete(room);
      if (n === 1 && this.o.sub.isReady) await this.o.db.bound(this.o.sub.pubsub.unsubscribe(this.o.keys.channel(room)), 'UNSUBSCRIBE');
    } else {
      this.subs.set(room, n - 1);
    }
  }

  /** Publishes to the room's channel with this turn's batch; resolves with how many other nodes received it. */
  publish(envelope: Envelope): Promise<number> {
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(envelope.room);
      if (batch === undefined) {
        batch = { room: envelope.room, envelopes: [], waiters: [], done: false };
        this.pending.set(envelope.room, batch);
      }
      batch.envelopes.push(envelope);
      batch.waiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Receives envelopes published by other nodes; returns an unsubscribe function. */
  onEnvelope(handler: (envelope: Envelope) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private flush(): void {
    const batches = [...this.pending.values()];
    this.pending = new Map();
    this.flushScheduled = false;
    let left = batches.length;
    const settle = (b: Batch, outcome: { receivers: number } | { err: unknown }): void => {
      if (b.done) return;
      b.done = true;
      if (--left === 0) clearTimeout(timer);
      if ('err' in outcome) {
        for (const w of b.waiters) w.reject(outcome.err);
        return;
      }
      // This node counts among the receivers while it listens to the room.
      const self = this.o.sub.isReady && this.subs.has(b.room) ? 1 : 0;
      const others = Math.max(0, outcome.receivers - self);
      for (const w of b.waiters) w.resolve(others);
    };
    // One deadline for the turn (see redis-deadline.ts for why every command is bounded).
    const timer = setTimeout(() => {
      for (const b of batches) settle(b, { err: new DeadlineError('PUBLISH', this.o.timeoutMs) });
    }, this.o.timeoutMs);
    for (const b of batches) {
      let message: string;
      try {
        message = encodeEnvelopes(this.o.nodeId, b.envelopes, { boot: this.boot, seq: ++this.seq });
      } catch (err) {
        settle(b, { err });
        continue;
      }
      this.o.db.publishUnbounded(b.room, message).then(
        (receivers) => settle(b, { receivers }),
        (err: unknown) => settle(b, { err }),
      );
    }
  }

  /** True when `message` is older than one already taken from its origin for its room (and so dropped). */
  private late(message: string, first: Envelope): boolean {
    const stamp = messageStamp(message);
    if (stamp === undefined) return false;
    let byOrigin = this.newest.get(first.room);
    if (byOrigin === undefined) {
      if (!this.subs.has(first.room)) return false;
      byOrigin = new Map();
      this.newest.set(first.room, byOrigin);
    }
    const seen = byOrigin.get(first.origin);
    if (seen !== undefined && seen.boot === stamp.boot && stamp.seq <= seen.seq) {
      this.o.logger?.info({ event: 'late-envelope', room: first.room, origin: first.origin, seq: stamp.seq, newest: seen.seq }, 'dropped a cross-node message that arrived after a newer one from its node (its sender was told it was lost)');
      return true;
    }
    byOrigin.set(first.origin, stamp);
    return false;
  }

  private dispatch(message: string): void {
    // Our own messages come back (we listen to the rooms we publish to): drop them unparsed.
    if (messageOrigin(message) === this.o.nodeId) return;
    let envelopes: Envelope[];
    try {
      envelopes = decodeEnvelopes(message);
    } catch (err) {
      this.o.logger?.warn({ code: 'INTERNAL', err: (err as Error).message, bytes: message.length }, 'dropped a malformed envelope from Redis');
      return;
    }
    if (this.late(message, envelopes[0]!)) return;
    for (const env of envelopes) {
      if (env.origin === this.o.nodeId) continue;
      if (env.moved !== undefined) this.o.moved(env.room, env.moved);
      for (const h of this.handlers) h(env);
    }
  }
}
