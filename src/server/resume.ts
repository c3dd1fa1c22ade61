/**
 * Resume: a `join` carrying a resume token gets its member back — the same id, the signals queued
 * while it was away (in order, before any newer one), and no leave/join seen by the others. The
 * member may be reserved here, reserved on another node (shared store), or still live here on a
 * connection the client already gave up on (that one is superseded with 4011).
 */
import { randomBytes } from 'node:crypto';
import { authorizeResume } from '../auth/index.js';
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { JoinMessage } from '../protocol/messages.js';
import type { MemberRecord, Store } from '../store/store.js';
import { frameText, type Connection } from './connection.js';
import { info, type LocalIndex, type LocalMember } from './local-index.js';
import type { ServerMetrics } from './metrics.js';

/** What a resume needs from the hub. */
export interface ResumeContext {
  config: Readonly<Config>;
  store: Store;
  metrics: ServerMetrics;
  now: () => number;
  index: LocalIndex;
  /** Reserves the member again when its new connection dropped mid-resume. */
  redisconnected: (conn: Connection) => void;
}

/** An unguessable, single-use resume token. */
export function newResumeToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Resumes a reserved (or still-live) member on `conn`. False when the token is unknown, expired
 * or for another room: RESUME_FAILED has been sent and the caller joins as a new member. True when
 * the join is settled here: resumed, or refused with FORBIDDEN because the member belongs to
 * another identity than the connection's token (authorizeResume; the member is left as it was).
 */
export async function resumeMember(ctx: ResumeContext, conn: Connection, msg: JoinMessage, token: string, started: number): Promise<boolean> {
  const { store, metrics, config, now, index } = ctx;
  const fail = (why: string): false => {
    conn.sendError('RESUME_FAILED', `cannot resume: ${why}; joining as a new member`, msg.id);
    metrics.joins.inc({ result: 'resume-failed' });
    return false;
  };
  const forbidden = (name: string): string | undefined => {
    try {
      authorizeResume(conn.principal, name);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
  const refuse = (why: string): true => {
    conn.resetIfJoining();
    conn.sendError('FORBIDDEN', why, msg.id);
    metrics.joins.inc({ result: 'refused' });
    return true;
  };
  let member: LocalMember | undefined;
  const live = index.liveToken(token);
  if (live !== undefined && live.room === msg.room) {
    // The client saw the drop before the server did: supersede the old connection.
    member = index.get(live.room, live.id);
    if (member?.state !== 'live' || member.conn === undefined) return fail('the member is not resumable');
    const why = forbidden(member.record.name);
    if (why !== undefined) return refuse(why);
    const old = member.conn;
    old.state = 'idle';
    old.room = undefined;
    old.end('replaced', CloseCode.REPLACED, 'resumed on another connection');
    index.dropLiveToken(token);
    member.conn = undefined;
    member.state = 'reserved';
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
    const why = forbidden(rec.member.name);
    if (why !== undefined) {
      // Not this identity's to take: the reservation stays for its owner.
      await store.putResume(token, rec).catch(() => undefined);
      return refuse(why);
    }
    member = index.get(msg.room, rec.member.id);
    if (member === undefined && index.shared && rec.member.node !== store.nodeId) {
      // Reserved on another node: take it over here (setNode below moves the record).
      member = { record: rec.member, conn: undefined, state: 'reserved', token, pending: undefined, grace: undefined };
      index.add(msg.room, member);
    }
    if (member?.state !== 'reserved') return fail('the member is not reserved any more');
  }
  if (member.grace !== undefined) clearTimeout(member.grace);
  member.grace = undefined;
  member.state = 'resuming';
  member.pending = [];
  member.conn = conn;
  const id = member.record.id;
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
  if (conn.isClosed()) {
    // Dropped again mid-resume: keep the reservation (under the token the client still holds)
    // and everything it was owed.
    for (const f of queued.frames) void store.enqueue(msg.room, id, f, config.rooms.resumeQueueMax).catch(() => undefined);
    for (const f of member.pending) void store.enqueue(msg.room, id, frameText(f), config.rooms.resumeQueueMax).catch(() => undefined);
    member.pending = undefined;
    member.state = 'live';
    member.token = token;
    conn.memberId = id;
    ctx.redisconnected(conn);
    return true;
  }
  index.seed(msg.room, members);
  const newTokenValue = newResumeToken();
  index.setLiveToken(msg.room, member, newTokenValue);
  conn.state = 'joined';
  conn.memberId = id;
  conn.resumeToken = newTokenValue;
  conn.send({
    type: 'joined',
    ...(msg.id === undefined ? {} : { re: msg.id }),
    room: msg.room,
    self: info(member.record),
    peers: members.filter((m) => m.id !== id).map(info),
    capacity,
    resumeToken: newTokenValue,
    resumed: true,
  });
  if (queued.dropped > 0) {
    conn.sendError('SIGNALS_DROPPED', `${queued.dropped} signal(s) sent to you while disconnected were dropped (queue limit ${config.rooms.resumeQueueMax})`);
  }
  for (const f of queued.frames) conn.sendFrame(f);
  for (const f of member.pending) conn.sendFrame(f);
  member.pending = undefined;
  member.state = 'live';
  metrics.joins.inc({ result: 'resumed' });
  metrics.joinSeconds.observe((performance.now() - started) / 1000);
  if (conn.logs('info')) conn.log.info({ event: 'resumed', queued: queued.frames.length, dropped: queued.dropped, at: now() }, 'resumed');
  return true;
}
