/**
 * The members this node holds, by room, and delivery to them. The store is authoritative for
 * membership; this index exists so that relaying never awaits the store: a frame for a local
 * member is written to its socket synchronously, which also keeps each sender's frames in order.
 *
 * A member's state (member.ts) decides where a frame for it goes: `live` to its connection (or,
 * when its record names another node, published to that node), `away` to its store queue,
 * `resuming` held by the member until its queue has been flushed, so order survives the hand-over.
 */
import type { Logger } from 'pino';
import type { MessageId, PeerLeftReason, ServerMessage } from '../protocol/messages.js';
import type { Envelope, MemberRecord, Store } from '../store/store.js';
import { encode, frameText, peerJoinedFrame, peerLeftFrame, type Frame } from './frames.js';
import type { LocalRoom, Member, Outbox } from './member.js';
import type { ServerMetrics } from './metrics.js';

/** The index's dependencies. */
export interface LocalIndexOptions {
  store: Store;
  metrics: ServerMetrics;
  logger: Logger;
  resumeQueueMax: number;
}

/** This node's members by room, and delivery to them (see the module comment). */
export class LocalIndex {
  private readonly rooms = new Map<string, Map<string, Member>>();
  /** Resume tokens of live members, for a client that resumes before we saw it drop. */
  private readonly liveTokens = new Map<string, { room: string; id: string }>();
  /**
   * For each room with members here: every member this node's clients were told about (joined,
   * peer-joined, peer-left), by id, with the node holding it. Membership frames are pub/sub, so
   * at most once: after an outage the server re-checks this against the store (reconcile), and
   * it tells whether a signal's recipients live on other nodes.
   */
  private readonly views = new Map<string, Map<string, string>>();
  /** Other nodes may hold members of our rooms (see Store.shared). */
  readonly shared: boolean;
  private readonly nodeId: string;
  /** Called once when the index holds no member any more (see emptied). */
  private onEmpty: Array<() => void> = [];
  /**
   * Members resuming here that moved from another node, by room and id: the node they moved from,
   * and the end of the wait for its `handedOver` (see expectHandover).
   */
  private readonly handovers = new Map<string, { from: string; done: () => void }>();
  /** A reserved member's last store-queue write and what followed it (pass-on), for its hand-over. */
  private readonly queueing = new WeakMap<Member, Promise<void>>();

  constructor(private readonly o: LocalIndexOptions) {
    this.shared = o.store.shared !== false;
    this.nodeId = o.store.nodeId;
  }

  /** Rooms and members held (for metrics). */
  get size(): { rooms: number; members: number } {
    let members = 0;
    for (const r of this.rooms.values()) members += r.size;
    return { rooms: this.rooms.size, members };
  }

  /** Resolves when this node holds no member (at once when it holds none now). */
  emptied(): Promise<void> {
    if (this.rooms.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.onEmpty.push(resolve));
  }

  private wakeIfEmpty(): void {
    if (this.rooms.size !== 0 || this.onEmpty.length === 0) return;
    for (const resolve of this.onEmpty.splice(0)) resolve();
  }

  /** Every member held, with its room. */
  all(): Array<[string, Member]> {
    const out: Array<[string, Member]> = [];
    for (const [roomId, room] of this.rooms) for (const m of room.values()) out.push([roomId, m]);
    return out;
  }

  room(roomId: string): LocalRoom | undefined {
    return this.rooms.get(roomId);
  }

  get(roomId: string, id: string): Member | undefined {
    return this.rooms.get(roomId)?.get(id);
  }

  add(roomId: string, member: Member): void {
    let room = this.rooms.get(roomId);
    if (room === undefined) {
      room = new Map();
      this.rooms.set(roomId, room);
    }
    room.set(member.record.id, member);
    if (member.state === 'live') this.liveTokens.set(member.token, { room: roomId, id: member.record.id });
  }

  /** Removes `member` (if it is still the one indexed) and frees an emptied room. */
  remove(roomId: string, member: Member): boolean {
    const room = this.rooms.get(roomId);
    if (room?.get(member.record.id) !== member) return false;
    room.delete(member.record.id);
    if (room.size === 0) {
      this.rooms.delete(roomId);
      this.views.delete(roomId);
      this.wakeIfEmpty();
    }
    this.liveTokens.delete(member.token);
    member.end();
    return true;
  }

  /** Ids of the rooms with members here. */
  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  /** Records that this node's clients in `roomId` now know `records` (a join's or resume's answer). */
  seed(roomId: string, records: readonly MemberRecord[]): void {
    let view = this.views.get(roomId);
    if (view === undefined) this.views.set(roomId, (view = new Map<string, string>()));
    for (const r of records) view.set(r.id, r.node);
  }

  /** How many members this node's clients in `roomId` know of (the room's size as last heard). */
  known(roomId: string): number {
    return this.views.get(roomId)?.size ?? 0;
  }

  /** Whether this node's clients in `roomId` were told about member `id`. */
  knows(roomId: string, id: string): boolean {
    return this.views.get(roomId)?.has(id) === true;
  }

  /**
   * Brings what this node's clients in `roomId` were told in line with the store's `members`:
   * `peer-left` (disconnect) for members gone, `peer-joined` for members they never heard of.
   * Returns how many frames of each kind were sent.
   */
  reconcile(roomId: string, members: readonly MemberRecord[]): { left: number; joined: number } {
    const room = this.rooms.get(roomId);
    const view = this.views.get(roomId);
    const out = { left: 0, joined: 0 };
    if (room === undefined || view === undefined) return out;
    const present = new Set(members.map((m) => m.id));
    for (const id of [...view.keys()]) {
      if (present.has(id) || room.has(id)) continue;
      view.delete(id);
      this.sendLive(room, encode(peerLeftFrame(roomId, id, 'disconnect')), id);
      out.left++;
    }
    for (const m of members) {
      if (!view.has(m.id)) {
        this.sendLive(room, encode(peerJoinedFrame(roomId, m)), m.id);
        out.joined++;
      }
      view.set(m.id, m.node);
    }
    return out;
  }

  /**
   * Tells the other nodes (again) that this node's members of `roomId` are present: a node that
   * re-checked its room before this one restored them (after a data loss) told its clients they
   * had left, and hears of them here. Nodes that knew them drop the envelope.
   */
  announcePresent(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (room === undefined) return;
    for (const m of room.values()) {
      if (m.record.node !== this.nodeId) continue;
      const frame = encode(peerJoinedFrame(roomId, m.record));
      this.publish({ room: roomId, except: m.record.id, frame, origin: this.nodeId, presence: { id: m.record.id, present: true } });
    }
  }

  /** The live member a resume token belongs to. */
  liveToken(token: string): { room: string; id: string } | undefined {
    return this.liveTokens.get(token);
  }

  /** Records that `member` (live again) now answers to its new `member.token`. */
  setLiveToken(roomId: string, member: Member): void {
    this.liveTokens.set(member.token, { room: roomId, id: member.record.id });
  }

  /**
   * Member `id` of `roomId` is resuming here after it moved from node `from`: resolves when `from`
   * says it has sent on everything it took for the member (its `handedOver`, answering our
   * `moved`). Until endHandover, what `from` sends on for the member is held ahead of the
   * member's other held frames, which are newer.
   */
  expectHandover(roomId: string, id: string, from: string): Promise<void> {
    return new Promise((resolve) => this.handovers.set(handoverKey(roomId, id), { from, done: resolve }));
  }

  /** Ends expectHandover's wait (answered or not). */
  endHandover(roomId: string, id: string): void {
    this.handovers.delete(handoverKey(roomId, id));
  }

  dropLiveToken(token: string): void {
    this.liveTokens.delete(token);
  }

  /**
   * Sends a signal-class frame (signal, ready) to one member, whatever its state. `origin`: the
   * node that sent it on (undefined: this node's own).
   */
  deliver(roomId: string, m: Member, frame: Frame, isSignal = false, origin?: string): void {
    switch (m.state) {
      case 'live':
        if (m.record.node !== this.nodeId) {
          this.publish({ room: roomId, to: m.record.id, frame: frameText(frame), origin: this.nodeId, queue: true });
          return;
        }
        m.conn?.sendFrame(frame);
        if (isSignal) this.o.metrics.relayedPending++;
        return;
      case 'resuming':
        // What the node it moved from sends on is older than anything else held (expectHandover).
        m.hold(frame, origin !== undefined && this.handovers.get(handoverKey(roomId, m.record.id))?.from === origin);
        return;
      case 'away': {
        // Queued only while the store still says the member is here: once it resumed on another
        // node (which drains the queue once), the frame is passed on to that node instead.
        const text = frameText(frame);
        const written = this.o.store.enqueue(roomId, m.record.id, text, this.o.resumeQueueMax, this.nodeId).then(
          (queued) => {
            if (!queued && this.shared) this.passOn({ room: roomId, to: m.record.id, frame: text, origin: this.nodeId, queue: true });
          },
          (err: unknown) => {
            this.o.logger.error({ err, event: 'store-error', room: roomId }, 'store enqueue failed');
          },
        );
        // One connection answers in order: the last write settles after the earlier ones.
        this.queueing.set(m, written);
        return;
      }
      case 'gone':
        return;
    }
  }

  /**
   * Sends a membership frame to the connected members of a room except `except`: local ones
   * directly, and one envelope for the members on other nodes. Settles when the envelope was sent on.
   */
  broadcast(roomId: string, frame: ServerMessage, except: string): Promise<void> {
    const room = this.rooms.get(roomId);
    const text = encode(frame);
    if (room !== undefined) this.sendLive(room, text, except);
    let presence: Envelope['presence'];
    if (frame.type === 'peer-joined') {
      presence = { id: frame.peer.id, present: true };
      this.views.get(roomId)?.set(frame.peer.id, this.nodeId);
    } else if (frame.type === 'peer-left') {
      presence = { id: frame.peer, present: false };
      this.views.get(roomId)?.delete(frame.peer);
    }
    return this.sent({ room: roomId, except, frame: text, origin: this.o.store.nodeId, presence });
  }

  /**
   * A member was removed from the store on another's behalf (reaped, or a leave finished late):
   * local clients hear `peer-left` unless they already did; other nodes always get the envelope.
   */
  announceLeft(roomId: string, id: string, reason: PeerLeftReason): void {
    const text = encode(peerLeftFrame(roomId, id, reason));
    const room = this.rooms.get(roomId);
    const view = this.views.get(roomId);
    if (room !== undefined && view?.has(id) === true) this.sendLive(room, text, id);
    view?.delete(id);
    this.publish({ room: roomId, except: id, frame: text, origin: this.o.store.nodeId, presence: { id, present: false } });
  }

  /**
   * Publishes a client's signal for the members of its room on other nodes, and answers the
   * sender (`re` = the signal's id) when it did not get there: UNAVAILABLE when the store could
   * not carry it or fewer nodes than hold its recipients received it, UNKNOWN_PEER when no node
   * received a `to` that this node never heard of. Only the cross-node path pays for this.
   *
   * When the view puts every recipient on one other node, the store is told that node (it may
   * send the signal there alone: Store.publish); a broadcast with no recipient on another node is
   * not published at all (members this node's clients were never told of do not get it).
   */
  publishSignal(env: Envelope, sender: Outbox, id: MessageId | undefined): void {
    const view = this.views.get(env.room);
    let expected = 1;
    let node: string | undefined;
    if (env.to === undefined) {
      // The other nodes holding members of the room: a set only when there are two or more.
      let first: string | undefined;
      let nodes: Set<string> | undefined;
      if (view !== undefined) {
        for (const n of view.values()) {
          if (n === this.nodeId || n === first) continue;
          if (first === undefined) first = n;
          else (nodes ??= new Set([first])).add(n);
        }
      }
      expected = nodes?.size ?? (first === undefined ? 0 : 1);
      if (expected === 0) return;
      if (expected === 1) node = first;
    } else {
      node = view?.get(env.to);
    }
    const tell = (reason: string): void => {
      sender.sendError('UNAVAILABLE', `signal not delivered to ${env.to === undefined ? 'every member on other nodes' : JSON.stringify(env.to)}: ${reason}; send it again`, id);
    };
    this.o.store.publish(env, node).then(
      (reached) => {
        if (reached >= expected) return;
        if (env.to !== undefined && view?.has(env.to) !== true) {
          sender.sendError('UNKNOWN_PEER', `no member ${JSON.stringify(env.to)} in room ${JSON.stringify(env.room)}`, id);
        } else tell('a node holding recipients was not listening');
      },
      () => {
        tell('the room store (Redis) is unreachable');
      },
    );
  }

  private sendLive(room: ReadonlyMap<string, Member>, frame: string, except: string | undefined): void {
    const node = this.o.store.nodeId;
    for (const m of room.values()) {
      if (m.record.id !== except && m.state === 'live' && m.conn !== undefined && m.record.node === node) m.conn.sendFrame(frame);
    }
  }

  /** Publishes to other nodes (at most once; skipped for a store private to this process). */
  publish(envelope: Envelope): void {
    void this.sent(envelope);
  }

  /** publish, settling (never rejecting) once the store has sent the envelope on, or failed to. */
  private sent(envelope: Envelope): Promise<void> {
    if (!this.shared) return Promise.resolve();
    return this.o.store.publish(envelope).then(
      () => undefined,
      (err: unknown) => this.o.logger.warn({ err, event: 'store-error', room: envelope.room }, 'publish failed'),
    );
  }

  /**
   * Delivers an envelope published by another node to the local members it addresses. A `direct`
   * signal (sent to this node alone) for a member no longer held here is passed on to its room's
   * channel, where the node holding it now hears it (see passOn).
   */
  receive(env: Envelope, direct = false): void {
    const node = this.o.store.nodeId;
    if (env.origin === node) return;
    const room = this.rooms.get(env.room);
    // Looked up once: nothing below changes the room's members before the target is used.
    const target = env.to === undefined ? undefined : room?.get(env.to);
    if (direct && env.to !== undefined && env.queue === true && target?.record.node !== node) {
      this.passOn(env);
      return;
    }
    if (room === undefined) return;
    if (env.moved !== undefined) {
      // The member resumed on the origin node: forget our reservation without telling its room,
      // and tell the origin once what we took for it is sent on (queued, or passed on).
      this.views.get(env.room)?.set(env.moved, env.origin);
      const m = room.get(env.moved);
      if (m?.state === 'away' && m.record.node === node) {
        const last = this.queueing.get(m) ?? Promise.resolve();
        this.remove(env.room, m);
        // `to` (not queued): a node of an older version, which knows no `handedOver`, finds no such member of its own and ignores it.
        const answer = { room: env.room, to: env.moved, handedOver: env.moved, frame: '', origin: node };
        void last.then(() => this.publish(answer));
      }
      return;
    }
    if (env.handedOver !== undefined) {
      const key = handoverKey(env.room, env.handedOver);
      const h = this.handovers.get(key);
      if (h?.from === env.origin) h.done();
      return;
    }
    const frame = env.frame;
    if (env.presence !== undefined) {
      // Clients hear each join and leave once, whichever path (envelope, reconcile) told them first.
      const view = this.views.get(env.room);
      const known = view?.has(env.presence.id) === true;
      if (known === env.presence.present) return;
      if (env.presence.present) view?.set(env.presence.id, env.origin);
      else view?.delete(env.presence.id);
    }
    if (env.queue !== true) {
      if (env.to === undefined) this.sendLive(room, frame, env.except);
      else if (target?.state === 'live' && target.record.node === node) target.conn?.sendFrame(frame);
      return;
    }
    if (env.to !== undefined) {
      if (target?.record.node === node) this.deliver(env.room, target, frame, true, env.origin);
      return;
    }
    for (const m of room.values()) if (m.record.id !== env.except && m.record.node === node) this.deliver(env.room, m, frame, true, env.origin);
  }

  /**
   * The sender's node thought `env.to` was here, but it moved (resumed on another node) or left
   * before its node heard: published once more on the room's channel (never on a node channel,
   * so it cannot bounce), where the node holding the member, if any, takes it. Order: it may
   * arrive after the sender's next signals, which go straight to the new node once its node
   * heard of the move; only signals sent in that window can be overtaken.
   */
  private passOn(env: Envelope): void {
    this.o.logger.debug({ event: 'signal-passed-on', room: env.room, to: env.to, from: env.origin }, 'a signal sent to this node for a member no longer here was passed on to its room');
    this.publish({ ...env, origin: this.nodeId });
  }

  /** Clears every grace timer and forgets everything (the server is closing). */
  clear(): void {
    for (const room of this.rooms.values()) for (const m of room.values()) m.end();
    this.rooms.clear();
    this.views.clear();
    this.liveTokens.clear();
    this.wakeIfEmpty();
  }
}

function handoverKey(room: string, id: string): string {
  return `${room}\n${id}`;
}
