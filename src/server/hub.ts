/**
 * Room logic of one node: join (with capacity, grants and resume), signal relay, meta, leave, and
 * what a disconnect does to a membership (a resume reservation or an immediate leave). The store
 * holds the authoritative membership; the LocalIndex holds this node's members for delivery.
 */
import type { Logger } from 'pino';
import { authorizeJoin, authorizeSend } from '../auth/index.js';
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import { isSigctlError } from '../protocol/errors.js';
import type { JoinMessage, LeaveMessage, Meta, MessageId, MetaMessage, PeerLeftReason, SignalMessage } from '../protocol/messages.js';
import type { MemberRecord, Store } from '../store/store.js';
import { frameText, type Connection, type Frame } from './connection.js';
import type { ScannedSignal } from './signal-scan.js';
import { encode, relayFrame } from './frames.js';
import { info, LocalIndex, type LocalMember } from './local-index.js';
import type { ServerMetrics } from './metrics.js';
import { newResumeToken, resumeMember } from './resume.js';

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
}

function forbiddenSend(conn: Connection, what: 'signal' | 'meta'): string {
  try {
    authorizeSend(conn.principal, what);
    return `${what} is not allowed`;
  } catch (err) {
    return (err as Error).message;
  }
}


/** Room logic of one node (see the module comment). */
export class Hub {
  private readonly index: LocalIndex;
  private readonly unsubscribe: () => void;
  private readonly offReap: (() => void) | undefined;
  private readonly offEvict: (() => void) | undefined;
  private readonly offResync: (() => void) | undefined;
  private closed = false;

  constructor(private readonly o: HubOptions) {
    this.index = new LocalIndex({ store: o.store, metrics: o.metrics, logger: o.logger, resumeQueueMax: o.config.rooms.resumeQueueMax });
    this.unsubscribe = o.store.subscribe((env) => this.index.receive(env));
    // A dead node's members were removed from the store by this node: tell their rooms.
    this.offReap = o.store.onReap?.(({ room, memberId }) => {
      const held = this.index.get(room, memberId);
      if (held !== undefined) this.index.remove(room, held);
      this.index.announceLeft(room, memberId, 'disconnect');
      o.logger.info({ event: 'reaped', room, member: memberId }, 'member removed from the store on behalf of its node');
    });
    this.offEvict = o.store.onEvict?.(({ room, memberId }) => this.evict(room, memberId));
    this.offResync = o.store.onResync?.(() => {
      this.resync().catch((err: unknown) => o.logger.error({ err, event: 'store-error' }, 'membership resync failed'));
    });
  }

  /** The store lost this member's record and the room filled before it was restored (MEMBERSHIP_LOST). */
  private evict(roomId: string, memberId: string): void {
    const member = this.index.get(roomId, memberId);
    if (member === undefined) return;
    const conn = member.conn;
    this.index.remove(roomId, member);
    member.state = 'reserved';
    if (conn !== undefined) {
      conn.sendError('MEMBERSHIP_LOST', `the room store lost your membership of ${JSON.stringify(roomId)} and the room filled before it was restored; join again`);
      conn.state = 'idle';
      conn.room = undefined;
      conn.memberId = undefined;
      conn.kick(CloseCode.MEMBERSHIP_LOST, 'membership lost');
    }
    this.index.announceLeft(roomId, memberId, 'disconnect');
    this.o.logger.warn({ event: 'evicted', room: roomId, member: memberId }, 'member evicted after the store lost its data');
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
    try {
      authorizeJoin(p, msg.room);
    } catch (err) {
      return this.refuse(conn, 'FORBIDDEN', (err as Error).message, re);
    }
    const max = config.rooms.maxCapacity;
    if (msg.capacity !== undefined && msg.capacity > max) {
      return this.refuse(conn, 'BAD_MESSAGE', `join: "capacity": ${msg.capacity} exceeds the maximum of ${max} (rooms.maxCapacity)`, re);
    }
    let capacity = msg.capacity ?? p.capacity ?? config.rooms.capacity;
    if (p.capacity !== undefined) capacity = Math.min(capacity, p.capacity);
    capacity = Math.min(capacity, max);

    conn.state = 'joining';
    conn.room = msg.room;
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
      joined = encode({
        type: 'joined',
        ...(re === undefined ? {} : { re }),
        room: msg.room,
        self: info(record),
        peers: result.peers.map(info),
        capacity: result.capacity,
        resumeToken: token,
      });
    } catch (err) {
      conn.log.error({ err, event: 'encode-error' }, 'cannot encode the join; undoing it');
      await store.leave(msg.room, record.id).catch(() => undefined);
      conn.resetIfJoining();
      metrics.joins.inc({ result: 'refused' });
      conn.sendError('INTERNAL', 'the join could not be completed; try again', re);
      return;
    }
    const member: LocalMember = { record, conn, state: 'live', token, pending: undefined, grace: undefined };
    this.index.add(msg.room, member);
    this.index.seed(msg.room, [...result.peers, record]);
    metrics.joins.inc({ result: 'joined' });

    if (conn.isClosed()) {
      // The socket went away while the store was answering: the member existed briefly.
      await this.depart(msg.room, member, 'disconnect');
      return;
    }
    conn.state = 'joined';
    conn.memberId = record.id;
    conn.resumeToken = token;
    if (conn.logs('info')) conn.log.info({ event: 'joined', peers: result.peers.length, capacity: result.capacity }, 'joined');

    conn.sendFrame(joined);
    this.index.broadcast(msg.room, { type: 'peer-joined', room: msg.room, peer: info(record) }, record.id);
    if (result.ready) {
      const first = result.peers[0]!;
      const ready = encode({ type: 'ready', room: msg.room, offerer: record.id, peers: [first.id, record.id] });
      const other = this.index.get(msg.room, first.id);
      if (other !== undefined) this.index.deliver(msg.room, other, ready);
      else this.index.publish({ room: msg.room, to: first.id, frame: ready, origin: store.nodeId, queue: true });
      conn.sendFrame(ready);
    }
    metrics.joinSeconds.observe((performance.now() - started) / 1000);
  }

  private refuse(conn: Connection, code: 'SHUTTING_DOWN' | 'UNAVAILABLE' | 'FORBIDDEN' | 'BAD_MESSAGE', message: string, re: JoinMessage['id']): void {
    this.o.metrics.joins.inc({ result: 'refused' });
    conn.sendError(code, message, re);
  }

  /** See resumeMember (resume.ts). */
  private resume(conn: Connection, msg: JoinMessage, token: string, started: number): Promise<boolean> {
    return resumeMember({ ...this.o, index: this.index, redisconnected: (c) => this.disconnected(c, 'abnormal', true) }, conn, msg, token, started);
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
    if (!conn.principal.canSend) {
      conn.sendError('FORBIDDEN', forbiddenSend(conn, 'signal'), id);
      return false;
    }
    return true;
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
      conn.sendError('FORBIDDEN', forbiddenSend(conn, 'meta'), msg.id);
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
    const peer = info(rec);
    this.index.broadcast(roomId, { type: 'peer-updated', room: roomId, peer }, id);
    conn.send({ type: 'peer-updated', room: roomId, peer, ...(msg.id === undefined ? {} : { re: msg.id }) });
  }

  async leave(conn: Connection, msg: LeaveMessage): Promise<void> {
    if (conn.state !== 'joined') {
      conn.sendError('NOT_JOINED', 'not in a room', msg.id);
      return;
    }
    const roomId = conn.room!;
    const member = this.index.get(roomId, conn.memberId!);
    conn.state = 'idle';
    conn.room = undefined;
    conn.memberId = undefined;
    conn.resumeToken = undefined;
    if (member !== undefined) await this.depart(roomId, member, 'leave');
    if (conn.logs('info')) conn.log.info({ event: 'left', room: roomId }, 'left');
    conn.send({ type: 'left', room: roomId, ...(msg.id === undefined ? {} : { re: msg.id }) });
  }

  // ---- disconnects -----------------------------------------------------------------------------

  /**
   * The connection closed. `kind` decides between a resume reservation (abnormal, with a grace
   * period configured) and leaving at once. `force` skips the joined-state check (mid-resume).
   */
  disconnected(conn: Connection, kind: 'abnormal' | 'clean' | 'kicked' | 'replaced', force = false): void {
    if (!force && conn.state !== 'joined') return;
    const roomId = conn.room;
    const id = conn.memberId;
    conn.state = 'closed';
    if (kind === 'replaced' || roomId === undefined || id === undefined) return;
    const member = this.index.get(roomId, id);
    if (member?.conn !== conn) return;
    const grace = this.o.config.rooms.resumeGraceMs;
    if (kind !== 'abnormal' || grace === 0 || this.closed) {
      void this.depart(roomId, member, 'disconnect');
      return;
    }
    this.index.dropLiveToken(member.token);
    member.conn = undefined;
    member.state = 'reserved';
    const token = member.token;
    this.o.store
      .putResume(token, { room: roomId, member: member.record, expiresAt: this.o.now() + grace })
      .catch((err: unknown) => conn.log.error({ err, event: 'store-error' }, 'store putResume failed'));
    member.grace = setTimeout(() => {
      member.grace = undefined;
      void this.expire(roomId, member, token);
    }, grace);
    if (conn.logs('info')) conn.log.info({ event: 'reserved', graceMs: grace }, 'disconnected; reserved for resume');
  }

  /** The grace period of a reservation ended without a resume here. */
  private async expire(roomId: string, member: LocalMember, token: string): Promise<void> {
    const { store } = this.o;
    if (this.index.shared) {
      // It may have resumed on another node (the `moved` envelope is at-most-once): ask the store.
      const rec = (await store.members(roomId).catch(() => undefined))?.find((m) => m.id === member.record.id);
      if (rec !== undefined && rec.node !== store.nodeId) {
        this.index.remove(roomId, member);
        return;
      }
    }
    if (member.state !== 'reserved' || member.token !== token) return;
    void store.takeResume(token).catch(() => undefined);
    await this.depart(roomId, member, 'timeout');
  }

  /** Removes a member: local index at once (no frame reaches it after this), then the store. */
  private async depart(roomId: string, member: LocalMember, reason: PeerLeftReason): Promise<void> {
    const id = member.record.id;
    if (!this.index.remove(roomId, member)) return;
    member.state = 'reserved';
    this.index.broadcast(roomId, { type: 'peer-left', room: roomId, peer: id, reason }, id);
    this.o.logger.info({ event: 'peer-left', room: roomId, member: id, reason }, 'member left');
    try {
      await this.o.store.leave(roomId, id);
    } catch (err) {
      this.o.logger.error({ err, event: 'store-error', room: roomId }, 'store leave failed');
    }
  }

  /** Clears every timer; reservations are abandoned (the process is going away). */
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
    const deadline = Date.now() + timeoutMs;
    while (this.index.size.members > 0 && Date.now() < deadline && !this.closed) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Removes every member still held from the store, announcing `peer-left` (disconnect). With a
   * shared store no other node would ever remove them. Bounded by `timeoutMs`.
   */
  async releaseAll(timeoutMs: number): Promise<void> {
    const work = Promise.all(this.index.all().map(([room, m]) => this.depart(room, m, 'disconnect')));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Clears every timer and forgets every member. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.offReap?.();
    this.offEvict?.();
    this.offResync?.();
    this.index.clear();
  }
}
