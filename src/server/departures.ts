/**
 * How members leave this node: a reservation when a connection drops (or leaving at once), the end
 * of a grace period, the departure itself (index, `peer-left`, store, events), the operator's kick
 * and room close (carried to the node holding the member), and the store's reaps and evictions.
 * The hub owns one of these; nothing here calls back into the hub.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { Meta, PeerLeftReason } from '../protocol/messages.js';
import { EnvelopeControl, type Envelope, type LeaveResult, type MemberRecord, type Store } from '../store/store.js';
import type { Connection } from './connection.js';
import { peerLeftFrame } from './frames.js';
import type { LocalIndex } from './local-index.js';
import type { Member, Outbox, Timers } from './member.js';
import { requeue } from './resume.js';
import type { RoomEventSink } from './room-events.js';

/** What departures read and change. */
export interface DeparturesOptions {
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly logger: Logger;
  readonly now: () => number;
  readonly index: LocalIndex;
  readonly emit: RoomEventSink;
  readonly timers: Timers;
  /** True once the server closes: a dropped member leaves at once (no reservation). */
  readonly isClosing: () => boolean;
}

/** Member departures of one node (see the module comment). */
export class Departures {
  constructor(private readonly o: DeparturesOptions) {}

  /** The store removed a member of a dead node on this node's behalf: its room is told, once. */
  reaped(room: string, memberId: string, remaining: readonly MemberRecord[]): void {
    const held = this.o.index.get(room, memberId);
    if (held !== undefined) this.o.index.remove(room, held);
    this.o.index.announceLeft(room, memberId, 'disconnect');
    this.o.logger.info({ event: 'reaped', room, member: memberId }, 'member removed from the store on behalf of its node');
    // The reap was this node's store operation (one reaper per dead node): its result makes the event.
    this.emitLeft(room, held?.record ?? { id: memberId }, { removed: true, remaining }, 'disconnect');
  }

  /** The store lost this member's record and the room filled before it was restored (MEMBERSHIP_LOST). */
  evict(roomId: string, memberId: string): void {
    const member = this.o.index.get(roomId, memberId);
    if (member === undefined) return;
    const conn = member.conn;
    this.o.index.remove(roomId, member);
    if (conn !== undefined) {
      conn.sendError('MEMBERSHIP_LOST', `the room store lost your membership of ${JSON.stringify(roomId)} and the room filled before it was restored; join again`);
      conn.dismiss('kicked', CloseCode.MEMBERSHIP_LOST, 'membership lost');
    }
    this.o.index.announceLeft(roomId, memberId, 'disconnect');
    this.o.logger.warn({ event: 'evicted', room: roomId, member: memberId }, 'member evicted after the store lost its data');
    // This node held the member, so the fact is its own: member.left (the store no longer has the
    // record, so the room as it is now gives the count).
    void this.o.store.members(roomId).then(
      (rest) => this.emitLeft(roomId, member.record, { removed: true, remaining: rest }, 'disconnect'),
      (err: unknown) => this.o.logger.warn({ err, event: 'store-error', room: roomId }, 'no member.left event for an evicted member: the store did not answer'),
    );
  }

  /** A member lost its connection: reserved under `token` for its grace period, or gone at once. */
  leaveOrReserve(roomId: string, member: Member, token: string, resumable: boolean, conn: Connection): void {
    const grace = this.o.config.rooms.resumeGraceMs;
    if (!resumable || grace === 0 || this.o.isClosing()) {
      void this.depart(roomId, member, 'disconnect');
      return;
    }
    this.o.index.dropLiveToken(member.token);
    const expire = (): void => void this.expire(roomId, member, token);
    if (member.state === 'resuming') {
      requeue(this.o.store, roomId, member.record.id, member.abortResume(grace, expire), this.o.config.rooms.resumeQueueMax);
    } else {
      member.goAway(grace, expire);
    }
    this.o.store
      .putResume(token, { room: roomId, member: member.record, expiresAt: this.o.now() + grace })
      .catch((err: unknown) => conn.log.error({ err, event: 'store-error' }, 'store putResume failed'));
    if (conn.logs('info')) conn.log.info({ event: 'reserved', graceMs: grace }, 'disconnected; reserved for resume');
  }

  /** The grace period of a reservation ended without a resume here. */
  async expire(roomId: string, member: Member, token: string): Promise<void> {
    const { store } = this.o;
    if (this.o.index.shared) {
      // It may have resumed on another node (the `moved` envelope is at-most-once): ask the store.
      const rec = (await store.members(roomId).catch(() => undefined))?.find((m) => m.id === member.record.id);
      if (rec !== undefined && rec.node !== store.nodeId) {
        this.o.index.remove(roomId, member);
        return;
      }
    }
    if (member.state !== 'away' || member.token !== token) return;
    void store.takeResume(token).catch(() => undefined);
    await this.depart(roomId, member, 'timeout');
  }

  /** Removes a member: local index at once (no frame reaches it after this), then the store. */
  async depart(roomId: string, member: Member, reason: PeerLeftReason): Promise<void> {
    const id = member.record.id;
    if (!this.o.index.remove(roomId, member)) return;
    void this.o.index.broadcast(roomId, peerLeftFrame(roomId, id, reason), id);
    this.o.logger.info({ event: 'peer-left', room: roomId, member: id, reason }, 'member left');
    try {
      this.emitLeft(roomId, member.record, await this.o.store.leave(roomId, id), reason);
    } catch (err) {
      this.o.logger.error({ err, event: 'store-error', room: roomId }, 'store leave failed');
    }
  }

  /** member.left (and room.finished) when this node's store operation removed the member. */
  emitLeft(room: string, rec: { id: string; name?: string; meta?: Meta }, result: LeaveResult, reason: PeerLeftReason): void {
    if (!result.removed) return;
    const at = this.o.now();
    this.o.emit({ type: 'member.left', room, at, member: { id: rec.id, name: rec.name, meta: rec.meta }, members: result.remaining.length, reason });
    if (result.remaining.length === 0) this.o.emit({ type: 'room.finished', room, at });
  }

  /**
   * Removes member `memberId` from `room` on the operator's behalf: its client gets KICKED and
   * close 4014, its resume token is void, the others get `peer-left` (kicked). A member held by
   * another node is kicked there (a control envelope on the room's channel); when no node took
   * it, this node removes it from the store itself.
   */
  async kick(room: string, memberId: string): Promise<'kicked' | 'not-found'> {
    const { store } = this.o;
    const held = this.o.index.get(room, memberId);
    if (held !== undefined && held.record.node === store.nodeId) return (await this.expel(room, held)) ? 'kicked' : 'not-found';
    if (!this.o.index.shared) return 'not-found';
    const rec = (await store.members(room)).find((m) => m.id === memberId);
    if (rec === undefined) return 'not-found';
    const reached = await store.publish({ room, frame: '', origin: store.nodeId, control: { kick: memberId } }).catch(() => 0);
    if (reached > 0) return 'kicked';
    const result = await store.leave(room, memberId);
    if (!result.removed) return 'not-found';
    this.o.index.announceLeft(room, memberId, 'kicked');
    this.emitLeft(room, rec, result, 'kicked');
    return 'kicked';
  }

  /** Kicks every member of `room` (see kick); resolves with how many were removed. */
  async closeRoom(room: string): Promise<number> {
    const ids = new Set<string>([...(this.o.index.room(room)?.keys() ?? [])]);
    if (this.o.index.shared) for (const m of await this.o.store.members(room)) ids.add(m.id);
    const results = await Promise.all([...ids].map((id) => this.kick(room, id)));
    return results.filter((r) => r === 'kicked').length;
  }

  /** A control envelope from another node: act on it when this node holds the member. */
  control(env: Envelope): void {
    if (env.origin === this.o.store.nodeId) return;
    const parsed = EnvelopeControl.safeParse(env.control);
    if (!parsed.success) return;
    const member = this.o.index.get(env.room, parsed.data.kick);
    if (member !== undefined && member.record.node === this.o.store.nodeId) void this.expel(env.room, member);
  }

  /** Kicks a member this node holds (live, away or resuming). False when it was gone already. */
  async expel(room: string, member: Member): Promise<boolean> {
    if (member.state === 'gone') return false;
    // Void the reservation: the token must not bring the member back.
    if (member.state === 'away') void this.o.store.takeResume(member.token).catch(() => undefined);
    const out: Outbox | undefined = member.conn;
    if (out !== undefined) {
      out.sendError('KICKED', `removed from room ${JSON.stringify(room)} by the operator`);
      out.dismiss('kicked', CloseCode.KICKED, 'kicked');
    }
    await this.depart(room, member, 'kicked');
    return true;
  }

  /**
   * Removes every member still held from the store, announcing `peer-left` (disconnect). With a
   * shared store no other node would ever remove them. Bounded by `timeoutMs`.
   */
  async releaseAll(timeoutMs: number): Promise<void> {
    const work = Promise.all(this.o.index.all().map(([room, m]) => this.depart(room, m, 'disconnect')));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }
}
