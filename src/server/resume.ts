/**
 * Resume: a `join` carrying a resume token gets its member back — the same id, the signals queued
 * while it was away (in order, before any newer one), and no leave/join seen by the others. The
 * member may be away here, away on another node (shared store), or still live here on a
 * connection the client already gave up on (that one is superseded with 4011).
 *
 * Each step is a transition of the member (member.ts); the outcome goes back to the hub, which
 * decides what follows (join as new, reserve again, announce). Nothing here calls into the hub.
 */
import { randomBytes } from 'node:crypto';
import { authorizeResume } from '../auth/index.js';
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { JoinMessage } from '../protocol/messages.js';
import type { MemberRecord, Store } from '../store/store.js';
import type { Connection } from './connection.js';
import { frameText, joinedFrame } from './frames.js';
import type { LocalIndex } from './local-index.js';
import { Member, type Timers } from './member.js';
import type { ServerMetrics } from './metrics.js';

/** What a resume reads and changes (no hub callbacks). */
export interface ResumeContext {
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly metrics: ServerMetrics;
  readonly index: LocalIndex;
  readonly timers: Timers;
}

/**
 * How a resume ended:
 * - `failed`: RESUME_FAILED was sent; the caller joins the connection as a new member;
 * - `refused`: FORBIDDEN was sent (the member belongs to another identity) and the connection is idle again;
 * - `resumed`: the member is live on the connection; `members` is the room's size in the store;
 * - `dropped`: the connection closed mid-resume; `member` is still `resuming` and its store queue
 *   holds what it was owed: the hub reserves it again under its old token;
 * - `gone`: the member was removed (kicked) while the resume awaited the store.
 */
export type ResumeOutcome =
  | { readonly kind: 'failed' | 'refused' | 'gone' }
  | { readonly kind: 'resumed'; readonly member: Member; readonly members: number }
  | { readonly kind: 'dropped'; readonly member: Member };

const FAILED: ResumeOutcome = { kind: 'failed' };
const REFUSED: ResumeOutcome = { kind: 'refused' };

/**
 * Longest wait for the node a member moved from to finish sending on what it took for it (its
 * `handedOver`): a node that died, or runs a version without it, never answers.
 */
const HANDOVER_MS = 1000;

/** Resolves when `p` does or `ms` passed, whichever is first (never rejects). */
function bounded(p: Promise<void>, ms: number, timers: Timers): Promise<void> {
  return new Promise((resolve) => {
    const t = timers.setTimeout(resolve, ms);
    void p.then(() => {
      timers.clearTimeout(t);
      resolve();
    });
  });
}

/** An unguessable, single-use resume token. */
export function newResumeToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Resumes an away (or still-live) member on `conn` (a joining connection); see ResumeOutcome. */
export async function resumeMember(ctx: ResumeContext, conn: Connection, msg: JoinMessage, token: string, started: number): Promise<ResumeOutcome> {
  const { store, metrics, config, index } = ctx;
  const fail = (why: string): ResumeOutcome => {
    conn.sendError('RESUME_FAILED', `cannot resume: ${why}; joining as a new member`, msg.id);
    metrics.joins.inc({ result: 'resume-failed' });
    return FAILED;
  };
  const refuse = (why: string): ResumeOutcome => {
    conn.resetIfJoining();
    conn.sendError('FORBIDDEN', why, msg.id);
    metrics.joins.inc({ result: 'refused' });
    return REFUSED;
  };
  let member: Member | undefined;
  const live = index.liveToken(token);
  if (live !== undefined && live.room === msg.room) {
    // The client saw the drop before the server did: supersede the old connection.
    member = index.get(live.room, live.id);
    if (member?.state !== 'live' || member.conn === undefined) return fail('the member is not resumable');
    const decision = authorizeResume(conn.principal, member.record.name);
    if (!decision.allowed) return refuse(decision.message);
    member.conn.dismiss('replaced', CloseCode.REPLACED, 'resumed on another connection');
    index.dropLiveToken(token);
  } else {
    let rec;
    try {
      rec = await store.takeResume(token);
    } catch (err) {
      conn.log.error({ err, event: 'store-error' }, 'store takeResume failed');
      return fail('the store is unreachable');
    }
    if (rec === undefined) return fail('the resume token is unknown or its grace period ended');
    if (rec.room !== msg.room) {
      await store.putResume(token, rec).catch(() => undefined);
      return fail(`the resume token is for another room`);
    }
    const decision = authorizeResume(conn.principal, rec.member.name);
    if (!decision.allowed) {
      // Not this identity's to take: the reservation stays for its owner.
      await store.putResume(token, rec).catch(() => undefined);
      return refuse(decision.message);
    }
    member = index.get(msg.room, rec.member.id);
    if (member === undefined && index.shared && rec.member.node !== store.nodeId) {
      // Away on another node: take it over here (setNode below moves the record).
      member = new Member(rec.member, undefined, token, 'away', ctx.timers);
      index.add(msg.room, member);
    }
    if (member?.state !== 'away') return fail('the member is not reserved any more');
  }
  member.beginResume(conn);
  const id = member.record.id;
  // Moving from another node: that node may still be sending on signals it took for the member
  // (queued, or passed on once the record names this node). They go before the newer ones held
  // here, and the member turns live once that node says it is done (or after HANDOVER_MS).
  const handedOver = member.record.node === store.nodeId ? undefined : index.expectHandover(msg.room, id, member.record.node);
  if (member.record.node !== store.nodeId) {
    // Move the record first (a shared store starts routing the room's envelopes here), then tell
    // the old node to drop its reservation.
    try {
      member.record = (await store.setNode(msg.room, id, store.nodeId)) ?? { ...member.record, node: store.nodeId };
    } catch (err) {
      conn.log.error({ err, event: 'store-error' }, 'store setNode failed');
      member.record = { ...member.record, node: store.nodeId };
    }
    index.publish({ room: msg.room, moved: id, frame: '', origin: store.nodeId });
  }

  let members: readonly MemberRecord[] = [];
  let queued: { frames: readonly string[]; dropped: number } = { frames: [], dropped: 0 };
  let capacity = config.rooms.capacity;
  try {
    [members, queued, capacity] = await Promise.all([
      store.members(msg.room),
      store.drainQueue(msg.room, id),
      store.capacity(msg.room).then((c) => c ?? capacity),
    ]);
  } catch (err) {
    conn.log.error({ err, event: 'store-error' }, 'store read during resume failed');
  }
  if (handedOver !== undefined) {
    await bounded(handedOver, HANDOVER_MS, ctx.timers);
    index.endHandover(msg.room, id);
  }
  // Read again after the await: a kick may have ended the member meanwhile.
  if ((member.state as Member['state']) === 'gone') {
    conn.resetIfJoining();
    return { kind: 'gone' };
  }
  if (conn.isClosed()) {
    // Dropped again mid-resume: the store queue keeps what it was owed (the held frames follow, by the hub).
    for (const f of queued.frames) void store.enqueue(msg.room, id, f, config.rooms.resumeQueueMax).catch(() => undefined);
    return { kind: 'dropped', member };
  }
  index.seed(msg.room, members);
  const newToken = newResumeToken();
  conn.seat(id, newToken);
  conn.sendFrame(joinedFrame({ re: msg.id, room: msg.room, self: member.record, peers: members.filter((m) => m.id !== id), capacity, resumeToken: newToken, resumed: true }));
  if (queued.dropped > 0) {
    conn.sendError('SIGNALS_DROPPED', `${queued.dropped} signal(s) sent to you while disconnected were dropped (queue limit ${config.rooms.resumeQueueMax})`);
  }
  for (const f of queued.frames) conn.sendFrame(f);
  const held = member.finishResume(newToken);
  index.setLiveToken(msg.room, member);
  for (const f of held) conn.sendFrame(f);
  metrics.joins.inc({ result: 'resumed' });
  metrics.joinSeconds.observe((performance.now() - started) / 1000);
  if (conn.logs('info')) conn.log.info({ event: 'resumed', queued: queued.frames.length, dropped: queued.dropped }, 'resumed');
  return { kind: 'resumed', member, members: members.length };
}

/** The frames a member held while resuming, for its store queue (it dropped again). */
export function requeue(store: Store, room: string, id: string, frames: readonly (string | Buffer)[], max: number): void {
  for (const f of frames) void store.enqueue(room, id, frameText(f), max).catch(() => undefined);
}
