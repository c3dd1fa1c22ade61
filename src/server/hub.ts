/**
 * Room logic of one node: join (with capacity, grants and resume), signal relay, meta, leave, what
 * a disconnect does to a membership (a resume reservation or an immediate leave), and the
 * operator's kick and close. The store holds the authoritative membership; the LocalIndex holds
 * this node's members for delivery; member.ts owns every member's and connection's state.
 *
 * The hub talks to a member through its Outbox (send a v1 frame, send an error, dismiss with a
 * close code), whatever protocol the connection speaks at its edge (Connection.codec). Facts about
 * rooms go to HubOptions.events (room-events.ts), each once, from the node whose store operation
 * made it true.
 */
import type { Logger } from 'pino';
import { authorizeJoin, authorizeSend } from '../auth/index.js';
import type { Config } from '../config/schema.js';
import { isSigctlError } from '../protocol/errors.js';
import type { JoinMessage, LeaveMessage, Meta, MessageId, MetaMessage, SignalMessage } from '../protocol/messages.js';
import type { MemberRecord, Store } from '../store/store.js';
import type { Connection } from './connection.js';
import { frameText, joinedFrame, leftFrame, peerJoinedFrame, peerUpdatedFrame, readyFrame, relayFrame, type Frame } from './frames.js';
import { LocalIndex } from './local-index.js';
import { Member, REAL_TIMERS, type Timers } from './member.js';
import type { ServerMetrics } from './metrics.js';
import { Departures } from './departures.js';
import { newResumeToken, resumeMember } from './resume.js';
import { memberFacts, safeSink, type RoomEventSink } from './room-events.js';
import type { ScannedSignal } from './signal-scan.js';

/** The meta of every member that joined without one: shared (not one `{}` per member) and frozen, never mutated. */
const NO_META: Meta = Object.freeze({});

/** The hub's dependencies. */
export interface HubOptions {
  config: Readonly<Config>;
  store: Store;
  metrics: ServerMetrics;
  logger: Logger;
  now: () => number;
  /** True while the server drains: joins get SHUTTING_DOWN. */
  isDraining: () => boolean;
  /** Receives room and member facts (webhooks, admin); never allowed to throw into the hub. */
  events?: RoomEventSink;
  /** Grace timers (default: the process's, unref'd). */
  timers?: Timers;
}

/** Room logic of one node (see the module comment). */
export class Hub {
  private readonly index: LocalIndex;
  private readonly emit: RoomEventSink;
  private readonly timers: Timers;
  private readonly out: Departures;
  private readonly offs: Array<() => void> = [];
  private closed = false;

  constructor(private readonly o: HubOptions) {
    this.index = new LocalIndex({ store: o.store, metrics: o.metrics, logger: o.logger, resumeQueueMax: o.config.rooms.resumeQueueMax });
    this.emit = safeSink(o.events, o.logger);
    this.timers = o.timers ?? REAL_TIMERS;
    const { config, store, logger, now } = o;
    this.out = new Departures({ config, store, logger, now, index: this.index, emit: this.emit, timers: this.timers, isClosing: () => this.closed });
    this.offs.push(o.store.subscribe((env, direct) => (env.control === undefined ? this.index.receive(env, direct) : this.out.control(env))));
    // A dead node's members were removed from the store by this node: tell their rooms.
    const offReap = o.store.onReap?.(({ room, memberId, remaining }) => this.out.reaped(room, memberId, remaining));
    const offEvict = o.store.onEvict?.(({ room, memberId }) => this.out.evict(room, memberId));
    const offResync = o.store.onResync?.(() => {
      this.resync().catch((err: unknown) => o.logger.error({ err, event: 'store-error' }, 'membership resync failed'));
    });
    for (const off of [offReap, offEvict, offResync]) if (off !== undefined) this.offs.push(off);
  }

  /** After a store outage: what each room's clients were told is brought in line with the store. */
  private async resync(): Promise<void> {
    let left = 0;
    let joined = 0;
    for (const roomId of this.index.roomIds()) {
      this.index.announcePresent(roomId);
      const members = await this.o.store.members(roomId);
      const fixed = this.index.reconcile(roomId, members);
      left += fixed.left;
      joined += fixed.joined;
    }
    this.o.logger.info({ event: 'resynced', rooms: this.index.size.rooms, left, joined }, 'membership re-checked after a store outage');
  }

  /** Rooms and members held by this node (for metrics). */
  get size(): { rooms: number; members: number } {
    return this.index.size;
  }

  // ---- join ----------------------------------------------------------------------------------

  async join(conn: Connection, msg: JoinMessage): Promise<void> {
    const { config, store, metrics } = this.o;
    const started = performance.now();
    const re = msg.id;
    if (conn.state === 'joining' || conn.state === 'joined') {
      conn.sendError('ALREADY_JOINED', `this connection already joined room ${JSON.stringify(conn.room)}; send leave first`, re);
      return;
    }
    if (this.o.isDraining()) return this.refuse(conn, 'SHUTTING_DOWN', 'the server is shutting down; reconnect to another node', re);
    if (!store.healthy) return this.refuse(conn, 'UNAVAILABLE', 'the room store is unreachable; try again shortly', re);
    const p = conn.principal;
    const decision = authorizeJoin(p, msg.room);
    if (!decision.allowed) return this.refuse(conn, decision.code, decision.message, re);
    const max = config.rooms.maxCapacity;
    if (msg.capacity !== undefined && msg.capacity > max) {
      return this.refuse(conn, 'BAD_MESSAGE', `join: "capacity": ${msg.capacity} exceeds the maximum of ${max} (rooms.maxCapacity)`, re);
    }
    let capacity = msg.capacity ?? p.capacity ?? config.rooms.capacity;
    if (p.capacity !== undefined) capacity = Math.min(capacity, p.capacity);
    capacity = Math.min(capacity, max);

    conn.beginJoin(msg.room);
    if (msg.resume !== undefined) {
      if (await this.resume(conn, msg, msg.resume, started)) return;
      if (conn.isClosed()) return;
    }

    const record: MemberRecord = { id: conn.session, name: p.sub ?? msg.name ?? conn.session, meta: msg.meta ?? NO_META, node: store.nodeId };
    let result: Awaited<ReturnType<Store['join']>>;
    try {
      result = await store.join(msg.room, record, capacity);
    } catch (err) {
      const unavailable = isSigctlError(err) && err.code === 'UNAVAILABLE';
      // UNAVAILABLE is the store's expected answer during an outage or a recovery: not an error here.
      if (unavailable) conn.log.warn({ err: err.message, event: 'store-unavailable' }, 'join refused: store unavailable');
      else conn.log.error({ err, event: 'store-error' }, 'store join failed');
      conn.resetIfJoining();
      conn.sendError(unavailable ? 'UNAVAILABLE' : 'INTERNAL', unavailable ? `${err.message}` : 'the join could not be recorded; try again', re);
      metrics.joins.inc({ result: 'refused' });
      return;
    }
    if (!result.ok) {
      conn.resetIfJoining();
      metrics.joins.inc({ result: 'full' });
      conn.sendError('ROOM_FULL', `room ${JSON.stringify(msg.room)} is full (capacity ${result.capacity})`, re);
      return;
    }

    const token = newResumeToken();
    // Encoded before the member is added anywhere but the store: if encoding throws (it must not:
    // meta and names are bounded at the edge), the store is undone and nothing else changed.
    // (`peer-joined` carries a subset of `joined`: if one encodes, so does the other.)
    let joined: string;
    try {
      joined = joinedFrame({ re, room: msg.room, self: record, peers: result.peers, capacity: result.capacity, resumeToken: token, resumed: false });
    } catch (err) {
      conn.log.error({ err, event: 'encode-error' }, 'cannot encode the join; undoing it');
      await store.leave(msg.room, record.id).catch(() => undefined);
      conn.resetIfJoining();
      metrics.joins.inc({ result: 'refused' });
      conn.sendError('INTERNAL', 'the join could not be completed; try again', re);
      return;
    }
    const at = this.o.now();
    if (result.peers.length === 0) this.emit({ type: 'room.started', room: msg.room, at });
    this.emit({ type: 'member.joined', room: msg.room, at, member: memberFacts(record), members: result.peers.length + 1 });
    if (result.ready) this.emit({ type: 'room.ready', room: msg.room, at });
    const member = new Member(record, conn, token, 'live', this.timers);
    this.index.add(msg.room, member);
    this.index.seed(msg.room, [...result.peers, record]);
    metrics.joins.inc({ result: 'joined' });

    if (conn.isClosed()) {
      // The socket went away while the store was answering: the member existed briefly.
      await this.out.depart(msg.room, member, 'disconnect');
      return;
    }
    conn.seat(record.id, token);
    if (conn.logs('info')) conn.log.info({ event: 'joined', peers: result.peers.length, capacity: result.capacity }, 'joined');

    // With members on other nodes, the client hears of them only once their nodes were sent its
    // `peer-joined` (the envelope left, or failed to): a client that tells one of them about this
    // member by some other way finds that member known there (a broadcast from a member reaches
    // only those its node has heard of: LocalIndex.publishSignal). Frames meanwhile wait, in order.
    const remote = result.peers.some((p) => p.node !== store.nodeId);
    if (remote) conn.cork();
    conn.sendFrame(joined);
    const told = this.index.broadcast(msg.room, peerJoinedFrame(msg.room, record), record.id);
    if (result.ready) {
      const first = result.peers[0]!;
      const ready = readyFrame(msg.room, record.id, first.id);
      const other = this.index.get(msg.room, first.id);
      if (other !== undefined) this.index.deliver(msg.room, other, ready);
      else this.index.publish({ room: msg.room, to: first.id, frame: ready, origin: store.nodeId, queue: true });
      conn.sendFrame(ready);
    }
    // A turn later: a node link writes its copy of the envelope at the end of the turn it left in.
    if (remote) void told.then(() => setImmediate(() => conn.uncork()));
    metrics.joinSeconds.observe((performance.now() - started) / 1000);
  }

  private refuse(conn: Connection, code: 'SHUTTING_DOWN' | 'UNAVAILABLE' | 'FORBIDDEN' | 'BAD_MESSAGE', message: string, re: JoinMessage['id']): void {
    this.o.metrics.joins.inc({ result: 'refused' });
    if (conn.state === 'joining') conn.unseat();
    conn.sendError(code, message, re);
  }

  /** Runs resumeMember (resume.ts) and acts on its outcome; false: join `conn` as a new member. */
  private async resume(conn: Connection, msg: JoinMessage, token: string, started: number): Promise<boolean> {
    const { config, store, metrics } = this.o;
    const out = await resumeMember({ config, store, metrics, index: this.index, timers: this.timers }, conn, msg, token, started);
    switch (out.kind) {
      case 'failed':
        return false;
      case 'refused':
      case 'gone':
        return true;
      case 'resumed':
        this.emit({ type: 'member.resumed', room: msg.room, at: this.o.now(), member: memberFacts(out.member.record), members: out.members });
        return true;
      case 'dropped':
        // Dropped again mid-resume: keep the reservation under the token the client still holds.
        this.out.leaveOrReserve(msg.room, out.member, token, true, conn);
        return true;
    }
  }

  // ---- signal, meta, leave -------------------------------------------------------------------

  /** Relays a signal frame `raw` that scanSignal accepted: its `data` bytes are reused as they are. */
  relayScanned(conn: Connection, s: ScannedSignal, raw: Buffer): void {
    if (this.mayRelay(conn, s.id)) this.relay(conn, s.to, s.id, relayFrame(conn.relayPrefix, conn.relayPrefixBytes, raw, s.dataStart, s.dataEnd));
  }

  /** Relays a signal the protocol schema accepted (the full path): `data` is encoded. */
  signal(conn: Connection, msg: SignalMessage): void {
    if (this.mayRelay(conn, msg.id)) this.relay(conn, msg.to, msg.id, `${conn.relayPrefix}${JSON.stringify(msg.data)}}`);
  }

  private mayRelay(conn: Connection, id: MessageId | undefined): boolean {
    if (conn.state !== 'joined') {
      conn.sendError('NOT_JOINED', 'join a room before sending signals', id);
      return false;
    }
    if (!conn.principal.canSend) return this.forbidden(conn, 'signal', id);
    return true;
  }

  private forbidden(conn: Connection, what: 'signal' | 'meta', id: MessageId | undefined): false {
    const decision = authorizeSend(conn.principal, what);
    conn.sendError('FORBIDDEN', decision.allowed ? `${what} is not allowed` : decision.message, id);
    return false;
  }

  /**
   * Delivers the relayed `frame` (its `from` is the sender's member id, set here, never by the
   * client) to `to`, or to every other member. Synchronous: local delivery never waits for the store.
   */
  private relay(conn: Connection, to: string | undefined, id: MessageId | undefined, frame: Frame): void {
    const roomId = conn.room!;
    const self = conn.memberId!;
    // The room map is cached on the connection (one lookup in a map of every room saved per
    // message); it is only used while it still holds the sender.
    let room = conn.roomMembers;
    if (room === undefined || !room.has(self)) {
      room = this.index.room(roomId);
      conn.roomMembers = room;
      if (room === undefined) return;
    }
    if (to !== undefined) {
      const target = to === self ? undefined : room.get(to);
      if (target !== undefined) {
        this.index.deliver(roomId, target, frame, true);
      } else if (to !== self && this.index.shared) {
        // Not held here: another node may hold it (no per-message membership lookup).
        this.index.publishSignal({ room: roomId, to, frame: frameText(frame), origin: this.o.store.nodeId, queue: true }, conn, id);
      } else {
        conn.sendError('UNKNOWN_PEER', `no member ${JSON.stringify(to)} in room ${JSON.stringify(roomId)}`, id);
      }
      return;
    }
    for (const m of room.values()) if (m.record.id !== self) this.index.deliver(roomId, m, frame, true);
    if (this.index.shared) this.index.publishSignal({ room: roomId, except: self, frame: frameText(frame), origin: this.o.store.nodeId, queue: true }, conn, id);
  }

  async meta(conn: Connection, msg: MetaMessage): Promise<void> {
    if (conn.state !== 'joined') {
      conn.sendError('NOT_JOINED', 'join a room before setting metadata', msg.id);
      return;
    }
    if (!conn.principal.canSend) {
      this.forbidden(conn, 'meta', msg.id);
      return;
    }
    const roomId = conn.room!;
    const id = conn.memberId!;
    let rec: MemberRecord | undefined;
    try {
      rec = await this.o.store.setMeta(roomId, id, msg.meta);
    } catch (err) {
      conn.log.error({ err, event: 'store-error' }, 'store setMeta failed');
      conn.sendError('UNAVAILABLE', 'the metadata could not be recorded; try again', msg.id);
      return;
    }
    const member = this.index.get(roomId, id);
    if (rec === undefined || member === undefined) {
      conn.sendError('NOT_JOINED', 'no longer a member of the room', msg.id);
      return;
    }
    member.record = rec;
    this.emit({ type: 'member.updated', room: roomId, at: this.o.now(), member: memberFacts(rec), members: this.index.known(roomId) });
    void this.index.broadcast(roomId, peerUpdatedFrame(roomId, rec), id);
    conn.send(peerUpdatedFrame(roomId, rec, msg.id));
  }

  async leave(conn: Connection, msg: LeaveMessage): Promise<void> {
    if (conn.state !== 'joined') {
      conn.sendError('NOT_JOINED', 'not in a room', msg.id);
      return;
    }
    const roomId = conn.room!;
    const member = this.index.get(roomId, conn.memberId!);
    conn.unseat();
    if (member !== undefined) await this.out.depart(roomId, member, 'leave');
    if (conn.logs('info')) conn.log.info({ event: 'left', room: roomId }, 'left');
    conn.send(leftFrame(roomId, msg.id));
  }

  // ---- disconnects, kicks ----------------------------------------------------------------------

  /**
   * The connection closed (or is being closed): it turns `closed`, and a membership it held either
   * gets a resume reservation (`abnormal`, with a grace period configured) or leaves at once.
   */
  disconnected(conn: Connection, kind: 'abnormal' | 'clean' | 'kicked' | 'replaced'): void {
    const wasJoined = conn.state === 'joined';
    const roomId = conn.room;
    const id = conn.memberId;
    conn.markClosed();
    if (!wasJoined || kind === 'replaced' || roomId === undefined || id === undefined) return;
    const member = this.index.get(roomId, id);
    if (member?.conn !== conn) return;
    this.out.leaveOrReserve(roomId, member, member.token, kind === 'abnormal', conn);
  }


  /**
   * Removes member `memberId` from `room` on the operator's behalf: its client gets KICKED and
   * close 4014, its resume token is void, the others get `peer-left` (kicked), wherever in the
   * cluster it is held (see Departures.kick).
   */
  kick(room: string, memberId: string): Promise<'kicked' | 'not-found'> {
    return this.out.kick(room, memberId);
  }

  /** Kicks every member of `room`; resolves with how many were removed. */
  closeRoom(room: string): Promise<number> {
    return this.out.closeRoom(room);
  }

  // ---- shutdown --------------------------------------------------------------------------------

  /** True when other nodes share the store (see Store.shared). */
  get shared(): boolean {
    return this.index.shared;
  }

  /** From now on a disconnect leaves at once: no new resume reservations. */
  beginClose(): void {
    this.closed = true;
  }

  /**
   * Waits (at most `timeoutMs`) until this node holds no member: each reservation either resumed
   * on another node or ran out its grace. A draining node of a shared store does this so its
   * members can move, and the ones that do not are announced, before it goes away.
   */
  async settle(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.index.emptied(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /**
   * Removes every member still held from the store, announcing `peer-left` (disconnect). With a
   * shared store no other node would ever remove them. Bounded by `timeoutMs`.
   */
  releaseAll(timeoutMs: number): Promise<void> {
    return this.out.releaseAll(timeoutMs);
  }

  /** Clears every timer and forgets every member. */
  close(): void {
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    this.index.clear();
  }
}
