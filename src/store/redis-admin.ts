/**
 * The Redis store's reads for operators (the admin API): rooms of every node, a room's members
 * with their join times. Membership itself stays in the keys of redis-keys.ts; this module adds
 * one hash per room, `room:{<b64>}:since` (field `@` = the room's creation, field <member id> =
 * that member's join, unix ms), in the room's hash slot like every other key of the room.
 *
 * The times are bookkeeping, not membership: written after a join and removed after a leave, they
 * never decide anything. A room created again after it was freed resets its hash (the join that
 * found no peers), so a stale hash left by a reap cannot age a new room. The room list comes from
 * the node member sets (`node:<id>:members`), which name every member of every registered node.
 */
import type { CommandClient } from './redis-client.js';
import { withDeadline } from './redis-deadline.js';
import { decodeRoom, encodeRoom, type RedisKeys } from './redis-keys.js';
import type { MemberRecord, RoomDetail, RoomPage, RoomSummary } from './store.js';

/** KEYS: since, members. ARGV: member id, unix ms, '1' when the join created the room. */
const JOINED = `
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], '@', ARGV[2])
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  redis.call('HSETNX', KEYS[1], '@', ARGV[2])
  redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
end
return 1
`;

/** KEYS: since, members. ARGV: member id. Forgets the join time; the whole hash once the room is gone. */
const LEFT = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('DEL', KEYS[1]) end
return 1
`;

function time(value: string | undefined): number | undefined {
  const n = value === undefined ? NaN : Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Admin reads and join-time bookkeeping on the store's command client. */
export class RedisAdmin {
  constructor(
    private readonly client: CommandClient,
    private readonly keys: RedisKeys,
    private readonly timeoutMs: number,
  ) {}

  private since(room: string): string {
    return `${this.keys.prefix}room:{${encodeRoom(room)}}:since`;
  }

  private bound<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.timeoutMs, what);
  }

  /** Records a join's time (after the join succeeded; `created`: the join found no peers). */
  async joined(room: string, memberId: string, at: number, created: boolean): Promise<void> {
    await this.bound(this.client.eval(JOINED, { keys: [this.since(room), this.keys.members(room)], arguments: [memberId, String(at), created ? '1' : '0'] }), 'JOINED');
  }

  /** Forgets a member's join time (after its leave). */
  async left(room: string, memberId: string): Promise<void> {
    await this.bound(this.client.eval(LEFT, { keys: [this.since(room), this.keys.members(room)], arguments: [memberId] }), 'LEFT');
  }

  /** Room ids of every registered node's members, sorted. */
  private async roomIds(): Promise<string[]> {
    const nodes = await this.bound(this.client.sMembers(this.keys.nodes()), 'SMEMBERS nodes');
    const sets = await Promise.all(nodes.map((id) => this.bound(this.client.sMembers(this.keys.nodeMembers(id)), 'SMEMBERS node members')));
    const rooms = new Set<string>();
    for (const entry of sets.flat()) {
      const space = entry.indexOf(' ');
      if (space > 0) rooms.add(decodeRoom(entry.slice(0, space)));
    }
    return [...rooms].sort();
  }

  private async summary(room: string): Promise<RoomSummary | undefined> {
    const [members, cap, created] = await Promise.all([
      this.bound(this.client.hLen(this.keys.members(room)), 'HLEN members'),
      this.bound(this.client.get(this.keys.capacity(room)), 'GET cap'),
      this.bound(this.client.hGet(this.since(room), '@'), 'HGET since'),
    ]);
    const capacity = time(cap ?? undefined);
    if (members === 0 || capacity === undefined) return undefined;
    return { id: room, members, capacity, createdAt: time(created ?? undefined) };
  }

  /** One page of rooms in id order (see Store.listRooms). */
  async listRooms(options: { readonly limit: number; readonly after?: string | undefined }): Promise<RoomPage> {
    const after = options.after;
    const ids = (await this.roomIds()).filter((id) => after === undefined || id > after);
    const page = ids.slice(0, Math.max(1, options.limit));
    const rooms = (await Promise.all(page.map((id) => this.summary(id)))).filter((r): r is RoomSummary => r !== undefined);
    return { rooms, next: ids.length > page.length ? page.at(-1) : undefined };
  }

  /** A room with its members (read with `members`, the store's parsed read) and their join times. */
  async roomDetail(room: string, members: (room: string) => Promise<readonly MemberRecord[]>): Promise<RoomDetail | undefined> {
    const [summary, records, times] = await Promise.all([this.summary(room), members(room), this.bound(this.client.hGetAll(this.since(room)), 'HGETALL since')]);
    if (summary === undefined) return undefined;
    return { room: { ...summary, members: records.length }, members: records.map((m) => ({ ...m, joinedAt: time(times[m.id]) })) };
  }
}
