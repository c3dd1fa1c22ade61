/**
 * The in-memory store: the embedded default for a single node. Every operation runs to completion
 * synchronously inside its promise executor, so operations are atomic and complete in call order.
 */
import type { Meta } from '../protocol/messages.js';
import type { Envelope, JoinResult, LeaveResult, MemberRecord, QueueDrain, ResumeRecord, RoomDetail, RoomPage, Store, StoreHealth } from './store.js';

interface Room {
  capacity: number;
  /** Insertion order is join order. */
  members: Map<string, MemberRecord>;
  /** Unix ms of the room's creation and of each member's join (for the admin API). */
  createdAt: number;
  joinedAt: Map<string, number>;
}

interface Queue {
  frames: string[];
  dropped: number;
}

/** Options of the in-memory store. */
export interface MemoryStoreOptions {
  nodeId?: string;
  /** Clock for resume expiry (unix ms). */
  now?: () => number;
}

/** A Store kept in this process. */
export class MemoryStore implements Store {
  readonly nodeId: string;
  readonly healthy = true;
  /** Private to this process: every member is local. */
  readonly shared = false;
  private readonly rooms = new Map<string, Room>();
  private readonly resumes = new Map<string, ResumeRecord>();
  private readonly queues = new Map<string, Queue>();
  private readonly now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.nodeId = options.nodeId ?? 'local';
    this.now = options.now ?? Date.now;
  }

  onHealth(_listener: (health: StoreHealth) => void): () => void {
    return () => undefined;
  }

  join(room: string, member: MemberRecord, capacity: number): Promise<JoinResult> {
    let r = this.rooms.get(room);
    if (r === undefined) {
      r = { capacity, members: new Map(), createdAt: this.now(), joinedAt: new Map() };
      this.rooms.set(room, r);
    }
    if (r.members.has(member.id)) {
      // A re-join of the same id (resume bookkeeping) never counts twice.
      r.members.set(member.id, member);
      const peers = [...r.members.values()].filter((m) => m.id !== member.id);
      return Promise.resolve({ ok: true, peers, capacity: r.capacity, ready: false });
    }
    if (r.members.size >= r.capacity) return Promise.resolve({ ok: false, reason: 'full', capacity: r.capacity });
    const peers = [...r.members.values()];
    r.members.set(member.id, member);
    r.joinedAt.set(member.id, this.now());
    return Promise.resolve({ ok: true, peers, capacity: r.capacity, ready: peers.length === 1 });
  }

  leave(room: string, memberId: string): Promise<LeaveResult> {
    const r = this.rooms.get(room);
    this.queues.delete(queueKey(room, memberId));
    if (r === undefined) return Promise.resolve({ removed: false, remaining: [] });
    const removed = r.members.delete(memberId);
    r.joinedAt.delete(memberId);
    if (r.members.size === 0) this.rooms.delete(room);
    return Promise.resolve({ removed, remaining: [...r.members.values()] });
  }

  setMeta(room: string, memberId: string, meta: Meta): Promise<MemberRecord | undefined> {
    return Promise.resolve(this.update(room, memberId, (m) => ({ ...m, meta })));
  }

  setNode(room: string, memberId: string, node: string): Promise<MemberRecord | undefined> {
    return Promise.resolve(this.update(room, memberId, (m) => ({ ...m, node })));
  }

  members(room: string): Promise<readonly MemberRecord[]> {
    return Promise.resolve([...(this.rooms.get(room)?.members.values() ?? [])]);
  }

  capacity(room: string): Promise<number | undefined> {
    return Promise.resolve(this.rooms.get(room)?.capacity);
  }

  listRooms(options: { readonly limit: number; readonly after?: string | undefined }): Promise<RoomPage> {
    const after = options.after;
    const ids = [...this.rooms.keys()].filter((id) => after === undefined || id > after).sort();
    const page = ids.slice(0, Math.max(1, options.limit));
    const rooms = page.map((id) => {
      const r = this.rooms.get(id)!;
      return { id, members: r.members.size, capacity: r.capacity, createdAt: r.createdAt };
    });
    return Promise.resolve({ rooms, next: ids.length > page.length ? page.at(-1) : undefined });
  }

  roomDetail(room: string): Promise<RoomDetail | undefined> {
    const r = this.rooms.get(room);
    if (r === undefined) return Promise.resolve(undefined);
    const members = [...r.members.values()].map((m) => ({ ...m, joinedAt: r.joinedAt.get(m.id) }));
    return Promise.resolve({ room: { id: room, members: members.length, capacity: r.capacity, createdAt: r.createdAt }, members });
  }

  putResume(token: string, record: ResumeRecord): Promise<void> {
    this.resumes.set(token, record);
    return Promise.resolve();
  }

  takeResume(token: string): Promise<ResumeRecord | undefined> {
    const rec = this.resumes.get(token);
    if (rec === undefined) return Promise.resolve(undefined);
    this.resumes.delete(token);
    return Promise.resolve(rec.expiresAt > this.now() ? rec : undefined);
  }

  enqueue(room: string, memberId: string, frame: string, max: number, holder?: string): Promise<boolean> {
    if (holder !== undefined && this.rooms.get(room)?.members.get(memberId)?.node !== holder) return Promise.resolve(false);
    const key = queueKey(room, memberId);
    let q = this.queues.get(key);
    if (q === undefined) {
      q = { frames: [], dropped: 0 };
      this.queues.set(key, q);
    }
    q.frames.push(frame);
    if (q.frames.length > max) {
      const over = q.frames.length - max;
      q.frames.splice(0, over);
      q.dropped += over;
    }
    return Promise.resolve(true);
  }

  drainQueue(room: string, memberId: string): Promise<QueueDrain> {
    const key = queueKey(room, memberId);
    const q = this.queues.get(key);
    this.queues.delete(key);
    return Promise.resolve(q === undefined ? { frames: [], dropped: 0 } : q);
  }

  publish(_envelope: Envelope, _node?: string): Promise<number> {
    return Promise.resolve(0);
  }

  subscribe(_handler: (envelope: Envelope, direct: boolean) => void): () => void {
    return () => undefined;
  }

  close(): Promise<void> {
    this.rooms.clear();
    this.resumes.clear();
    this.queues.clear();
    return Promise.resolve();
  }

  private update(room: string, memberId: string, fn: (m: MemberRecord) => MemberRecord): MemberRecord | undefined {
    const r = this.rooms.get(room);
    const m = r?.members.get(memberId);
    if (r === undefined || m === undefined) return undefined;
    const next = fn(m);
    r.members.set(memberId, next);
    return next;
  }
}

// Room ids cannot contain a space (ROOM_ID_PATTERN), so the key cannot collide.
function queueKey(room: string, memberId: string): string {
  return `${room} ${memberId}`;
}
