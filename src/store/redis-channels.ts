/**
 * Cross-node delivery over Redis pub/sub: one channel per room. A node subscribes to a room's
 * channel while it holds members of the room (subscribe before join, so nothing published after
 * the join is missed), so each envelope reaches only the nodes that need it and the publisher
 * needs no membership lookup per message. Pub/sub is at-most-once; membership never depends on it.
 */
import type { RedisLink } from './redis-client.js';
import type { Logger } from 'pino';
import type { RedisCommands } from './redis-commands.js';
import { decodeEnvelope, encodeEnvelope } from './redis-envelope.js';
import type { RedisKeys } from './redis-keys.js';
import type { Envelope } from './store.js';

export interface RoomChannelsOptions {
  /** The link in subscriber mode (sharded pub/sub under Cluster). */
  sub: RedisLink;
  db: RedisCommands;
  keys: RedisKeys;
  nodeId: string;
  logger: Logger | undefined;
  /** An envelope said `memberId` resumed on another node (called before the handlers). */
  moved(room: string, memberId: string): void;
}

/** Room channels this node listens to, and the envelopes on them. */
export class RoomChannels {
  /** Subscriptions by room, counted (one per held member). */
  private readonly subs = new Map<string, number>();
  private readonly handlers = new Set<(e: Envelope) => void>();

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
      if (n === 1 && this.o.sub.isReady) await this.o.db.bound(this.o.sub.pubsub.unsubscribe(this.o.keys.channel(room)), 'UNSUBSCRIBE');
    } else {
      this.subs.set(room, n - 1);
    }
  }

  /** Publishes to the room's channel; resolves with how many other nodes received it. */
  async publish(envelope: Envelope): Promise<number> {
    const receivers = await this.o.db.publish(envelope.room, encodeEnvelope(envelope));
    // This node counts among the receivers while it listens to the room.
    const self = this.o.sub.isReady && this.subs.has(envelope.room) ? 1 : 0;
    return Math.max(0, receivers - self);
  }

  /** Receives envelopes published by other nodes; returns an unsubscribe function. */
  onEnvelope(handler: (envelope: Envelope) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private dispatch(message: string): void {
    let env: Envelope;
    try {
      env = decodeEnvelope(message);
    } catch (err) {
      this.o.logger?.warn({ code: 'INTERNAL', err: (err as Error).message, bytes: message.length }, 'dropped a malformed envelope from Redis');
      return;
    }
    if (env.origin === this.o.nodeId) return;
    if (env.moved !== undefined) this.o.moved(env.room, env.moved);
    for (const h of this.handlers) h(env);
  }
}
