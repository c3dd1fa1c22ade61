/**
 * Cross-node delivery over Redis pub/sub, on two kinds of channel:
 *
 * - **Room channels**, one per room: a node subscribes while it holds members of the room
 *   (subscribe before join, so nothing published after the join is missed). Membership frames,
 *   presence, `moved`, kick control and any signal whose recipients' node is not known go here;
 *   every node of the room receives them, the publisher's own included (its echo, dropped unparsed).
 * - **Node channels**, one per node (`<prefix>nodech:<id>`, subscribed at start): a signal whose
 *   recipients on other nodes are all on one node, as the hub last heard (Store.publish's `node`),
 *   goes on that node's channel: one subscriber, no echo, and one PUBLISH per turn for every room.
 *   Not under Redis Cluster: sharded pub/sub puts channels on different shards, reached over
 *   different connections, so order across a room's channel and a node's channel would not hold;
 *   there every envelope takes its room's channel.
 *
 * Publishes are batched per event-loop turn (redis-batches.ts): a turn's envelopes for one channel
 * go out in one PUBLISH (redis-envelope.ts) when that keeps each room's order, and the turn's
 * PUBLISHes share one deadline (one timer, not one per signal). Order per sender is kept: a sender
 * is in one room, a room's envelopes leave in order on one connection, and a single Redis (or the
 * master Sentinel names) delivers to one subscriber connection in the order it ran the PUBLISHes,
 * across channels. Pub/sub is at-most-once; membership never depends on it.
 */
import type { RedisLink } from './redis-client.js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { linkMarker, parseMarker, type LinkAddress } from './node-link-wire.js';
import { NodeLinks, type Unacked, type Waiter } from './node-links.js';
import { TurnBatches, type Batch, type BatchRoute } from './redis-batches.js';
import type { RedisCommands } from './redis-commands.js';
import { DeadlineError } from './redis-deadline.js';
import { decodeEnvelopes, encodeEnvelopes, messageHead, type EnvelopeStamp, type MessageHead } from './redis-envelope.js';
import type { RedisKeys } from './redis-keys.js';
import type { Envelope } from './store.js';

/** Node-channel routes kept at most (see RoomChannels.nodeRoute). */
const MAX_NODE_ROUTES = 1_000;

export interface RoomChannelsOptions {
  /** The link in subscriber mode (sharded pub/sub under Cluster). */
  sub: RedisLink;
  db: RedisCommands;
  keys: RedisKeys;
  nodeId: string;
  /** Bound of one turn's PUBLISHes (config redis.timeoutMs). */
  timeoutMs: number;
  /** What publish() rejects with, made of the error that failed it (the store's catalogue error). */
  wrap?: ((err: unknown) => Error) | undefined;
  logger: Logger | undefined;
  /** An envelope said `memberId` resumed on another node (called before the handlers). */
  moved(room: string, memberId: string): void;
  /**
   * Direct links to the other nodes (node-links.ts): where this node listens for them, and how
   * it finds theirs. Undefined: every message goes through Redis. Not used under Cluster.
   */
  links?: { host: string; port: number; coalesceMs?: number | undefined; lookup(node: string): Promise<LinkAddress | undefined> } | undefined;
}

/** The channels this node listens to (its rooms' and its own), and the envelopes on them. */
export class RoomChannels {
  /** Subscriptions by room, counted (one per held member). */
  private readonly subs = new Map<string, number>();
  private readonly handlers = new Set<(e: Envelope, direct: boolean) => void>();
  private readonly pending = new TurnBatches<Waiter>();
  private flushScheduled = false;
  /** Node channels are used (not under Cluster: see the module comment). */
  private readonly direct: boolean;
  /** This store's messages are numbered `<boot>.<seq>` (redis-envelope.ts): new per start. */
  private readonly boot = randomBytes(4).toString('hex');
  private seq = 0;
  /** Rooms with a join of this node in flight: their envelopes wait (see holdRoom). */
  private readonly holds = new Map<string, { joins: number; waiting: Envelope[]; direct: boolean[] }>();
  /** The newest stamp taken per room and origin: an older message is a late re-send, dropped. */
  private readonly newest = new Map<string, Map<string, { boot: string; seq: number }>>();
  /** Routes to node channels, by node (see nodeRoute). */
  private readonly nodeRoutes = new Map<string, BatchRoute>();

  /** Direct links to other nodes, when configured (not under Cluster). */
  readonly links: NodeLinks | undefined;

  constructor(private readonly o: RoomChannelsOptions) {
    this.direct = !o.keys.sharded;
    const l = o.links;
    this.links =
      l === undefined || !this.direct
        ? undefined
        : new NodeLinks({
            nodeId: o.nodeId,
            host: l.host,
            port: l.port,
            coalesceMs: l.coalesceMs ?? 0,
            timeoutMs: o.timeoutMs,
            logger: o.logger,
            lookup: (node) => l.lookup(node),
            deliver: (message, head) => this.take(message, head, !head.room),
            fallback: (node, entries) => this.resend(node, entries),
            opened: () => this.schedule(),
          });
  }

  /** Starts listening for other nodes' links (before the first heartbeat advertises the address). */
  async startLinks(): Promise<void> {
    await this.links?.start();
  }

  /** Closes the links (the Redis clients are the lifecycle's). */
  async close(): Promise<void> {
    await this.links?.close();
  }

  /** Subscribes to this node's own channel (once, at start; the client re-subscribes after a reconnect). */
  async start(): Promise<void> {
    if (this.direct) await this.o.db.bound(this.o.sub.pubsub.subscribe(this.o.keys.nodeChannel(this.o.nodeId), (message) => this.dispatch(message, true)), 'SUBSCRIBE');
  }

  /** Counts one more reason to listen to `room`; subscribes on the first. */
  async subscribeRoom(room: string): Promise<void> {
    const n = this.subs.get(room) ?? 0;
    this.subs.set(room, n + 1);
    if (n === 0) await this.o.db.bound(this.o.sub.pubsub.subscribe(this.o.keys.channel(room), (message) => this.dispatch(message, false)), 'SUBSCRIBE');
  }

  /**
   * Holds back `room`'s envelopes while this node runs a join in it, until releaseRoom. Why: the
   * join's reply (command connection) and another node's `peer-joined` for a member that joined
   * just after (subscriber connection) can be read in either order; handed over first, the
   * envelope finds no member of the room here yet and is dropped, and this node's clients never
   * hear of that member (nor get `ready`). Released a turn after the join settled, so the server
   * has added its member by then (it does so without awaiting after the store's join).
   */
  holdRoom(room: string): void {
    const h = this.holds.get(room);
    if (h === undefined) this.holds.set(room, { joins: 1, waiting: [], direct: [] });
    else h.joins++;
  }

  /** Ends one holdRoom; the last one hands the waiting envelopes over, in order, on the next turn. */
  releaseRoom(room: string): void {
    const h = this.holds.get(room);
    if (h === undefined || --h.joins > 0) return;
    setImmediate(() => {
      if (h.joins > 0) return; // held again meanwhile: the next release hands them over
      this.holds.delete(room);
      for (let i = 0; i < h.waiting.length; i++) this.hand(h.waiting[i]!, h.direct[i]!);
    });
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

  /**
   * Publishes with this turn's batch: on `node`'s own channel when given (and not this node, and
   * not under Cluster), else on the room's. Resolves with how many other nodes received it.
   */
  publish(envelope: Envelope, node?: string): Promise<number> {
    const route: BatchRoute = this.direct && node !== undefined && node !== this.o.nodeId ? this.nodeRoute(node) : { channel: this.o.keys.channel(envelope.room), room: envelope.room };
    const wrap = this.o.wrap;
    return new Promise((resolve, reject) => {
      this.pending.add(route, envelope, { resolve, reject: wrap === undefined ? reject : (err: unknown) => reject(wrap(err)) });
      this.schedule();
    });
  }

  /**
   * The route to `node`'s own channel, made once per node: the channel's name is then the same
   * string every time, its hash computed once, instead of a new string per signal to build and hash.
   */
  private nodeRoute(node: string): BatchRoute {
    let route = this.nodeRoutes.get(node);
    if (route === undefined) {
      // Node ids come and go with restarts: a long-lived node forgets the routes it made now and then.
      if (this.nodeRoutes.size >= MAX_NODE_ROUTES) this.nodeRoutes.clear();
      route = { channel: this.o.keys.nodeChannel(node), node };
      this.nodeRoutes.set(node, route);
    }
    return route;
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Receives envelopes published by other nodes (`direct`: on this node's own channel); returns an unsubscribe function. */
  onEnvelope(handler: (envelope: Envelope, direct: boolean) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private flush(): void {
    const links = this.links;
    // Link messages are written when the turn's sending ends, not a pass of the event loop later.
    links?.beginTurn();
    try {
      this.sendTurn(links);
    } finally {
      links?.endTurn();
    }
  }

  private sendTurn(links: NodeLinks | undefined): void {
    const batches = this.pending.take();
    this.flushScheduled = false;
    // Links that opened since the last turn: their markers go first, after every earlier PUBLISH.
    if (links !== undefined) {
      for (const { node, link } of links.takeOpened()) {
        this.o.db.bound(this.o.db.publishUnbounded(this.o.keys.nodeChannel(node), linkMarker(this.o.nodeId, link)), 'PUBLISH').then(
          (receivers) => {
            if (receivers === 0) links.markerFailed(node, link, 'the node does not listen to its channel');
          },
          (err: unknown) => links.markerFailed(node, link, (err as Error).message),
        );
        links.markerSent(node, link);
      }
    }
    const synced = links?.syncedNodes() ?? [];
    const viaRedis: Array<{ batch: Batch<Waiter>; message: string }> = [];
    for (const b of batches) {
      const stamp = { boot: this.boot, seq: ++this.seq };
      const node = b.route.node;
      try {
        if (node !== undefined && links !== undefined && links.synced(node)) {
          links.send(node, stamp.seq, encodeEnvelopes(this.o.nodeId, b.envelopes, stamp), b.waiters);
          continue;
        }
        if (node !== undefined) links?.want(node);
        if (node === undefined && synced.length > 0) {
          // A room's message: a copy on every link (so it keeps its place among that node's
          // messages), and the Redis copy tells those nodes to skip it.
          const copy = encodeEnvelopes(this.o.nodeId, b.envelopes, stamp, { room: true });
          for (const n of synced) links?.send(n, stamp.seq, copy, []);
        }
        viaRedis.push({ batch: b, message: encodeEnvelopes(this.o.nodeId, b.envelopes, stamp, node === undefined ? { skip: synced } : undefined) });
      } catch (err) {
        for (const w of b.waiters) w.reject(err);
      }
    }
    if (viaRedis.length === 0) return;
    let left = viaRedis.length;
    const done = new Set<Batch<Waiter>>();
    const settle = (b: Batch<Waiter>, outcome: { receivers: number } | { err: unknown }): void => {
      if (done.has(b)) return;
      done.add(b);
      if (--left === 0) clearTimeout(timer);
      if ('err' in outcome) {
        for (const w of b.waiters) w.reject(outcome.err);
        return;
      }
      // This node counts among a room channel's receivers while it listens to the room.
      const self = b.route.room !== undefined && this.o.sub.isReady && this.subs.has(b.route.room) ? 1 : 0;
      const others = Math.max(0, outcome.receivers - self);
      for (const w of b.waiters) w.resolve(others);
    };
    // One deadline for the turn (see redis-deadline.ts for why every command is bounded).
    const timer = setTimeout(() => {
      for (const { batch } of viaRedis) settle(batch, { err: new DeadlineError('PUBLISH', this.o.timeoutMs) });
    }, this.o.timeoutMs);
    // In list order, on one connection: that order is the order receivers get them (redis-batches.ts).
    for (const { batch, message } of viaRedis) {
      this.o.db.publishUnbounded(batch.route.channel, message).then(
        (receivers) => settle(batch, { receivers }),
        (err: unknown) => settle(batch, { err }),
      );
    }
  }

  /**
   * A link to `node` broke with `entries` unacknowledged: they go on the node's channel now, in
   * order, ahead of this turn's messages (published later, at the flush). The node drops those it
   * already took (NodeLinks.fromRedis); room messages carry `room`, so they are not taken as
   * addressed to that node alone.
   */
  private resend(node: string, entries: readonly Unacked[]): void {
    const channel = this.o.keys.nodeChannel(node);
    for (const e of entries) {
      this.o.db.bound(this.o.db.publishUnbounded(channel, e.message), 'PUBLISH').then(
        (receivers) => {
          for (const w of e.waiters) w.resolve(receivers);
        },
        (err: unknown) => {
          for (const w of e.waiters) w.reject(err);
        },
      );
    }
  }

  /**
   * True when a message stamped `stamp` is older than one already taken from `origin` for `room`
   * (a late re-send: dropped). Kept per room and origin, not per origin: under Cluster a node's
   * room channels are on different shards, and only one room's order is guaranteed.
   */
  private late(room: string, origin: string, stamp: EnvelopeStamp): boolean {
    let byOrigin = this.newest.get(room);
    if (byOrigin === undefined) {
      if (!this.subs.has(room)) return false;
      byOrigin = new Map();
      this.newest.set(room, byOrigin);
    }
    const seen = byOrigin.get(origin);
    if (seen === undefined) {
      byOrigin.set(origin, { boot: stamp.boot, seq: stamp.seq });
    } else if (seen.boot !== stamp.boot) {
      seen.boot = stamp.boot;
      seen.seq = stamp.seq;
    } else if (stamp.seq <= seen.seq) {
      this.o.logger?.info({ event: 'late-envelope', room, origin, seq: stamp.seq, newest: seen.seq }, 'dropped a cross-node message that arrived after a newer one from its node (its sender was told it was lost)');
      return true;
    } else {
      // Updated in place: no Map write per message.
      seen.seq = stamp.seq;
    }
    return false;
  }

  private dispatch(message: string, direct: boolean): void {
    const marker = this.links === undefined ? undefined : parseMarker(message);
    if (marker !== undefined) {
      this.links?.marker(marker.origin, marker.link);
      return;
    }
    const head = messageHead(message);
    // Our own messages come back on room channels (we listen to the rooms we publish to): drop them unparsed.
    if (head?.origin === this.o.nodeId) return;
    if (head !== undefined && this.links !== undefined && !this.links.fromRedis(head)) return;
    this.take(message, head, direct && head?.room !== true);
  }

  /** Decodes a message (from Redis or a link) and hands its envelopes over, unless late or held. */
  private take(message: string, head: MessageHead | undefined, direct: boolean): void {
    let envelopes: Envelope[];
    try {
      envelopes = decodeEnvelopes(message);
    } catch (err) {
      this.o.logger?.warn({ code: 'INTERNAL', err: (err as Error).message, bytes: message.length }, 'dropped a malformed envelope from another node');
      return;
    }
    const stamp = head?.stamp;
    // A node channel's message may carry several rooms: each is checked once. Most messages carry
    // one room: a map of the rooms checked is made only when a second one comes.
    let firstRoom: string | undefined;
    let firstDrop = false;
    let late: Map<string, boolean> | undefined;
    for (const env of envelopes) {
      if (env.origin === this.o.nodeId) continue;
      if (stamp !== undefined) {
        let drop: boolean | undefined;
        if (firstRoom === undefined) {
          firstRoom = env.room;
          drop = firstDrop = this.late(env.room, env.origin, stamp);
        } else if (env.room === firstRoom) {
          drop = firstDrop;
        } else {
          late ??= new Map();
          drop = late.get(env.room);
          if (drop === undefined) late.set(env.room, (drop = this.late(env.room, env.origin, stamp)));
        }
        if (drop) continue;
      }
      const held = this.holds.size === 0 ? undefined : this.holds.get(env.room);
      if (held !== undefined) {
        held.waiting.push(env);
        held.direct.push(direct);
      } else this.hand(env, direct);
    }
  }

  private hand(env: Envelope, direct: boolean): void {
    if (env.moved !== undefined) this.o.moved(env.room, env.moved);
    for (const h of this.handlers) h(env, direct);
  }
}
