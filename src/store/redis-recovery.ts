/**
 * What a node does when its Redis answers again (docs/scaling.md, "Failure behaviour"): find out
 * whether Redis lost its data (the epoch), open a recovery window if so, restore the members this
 * node holds under the capacity check (evicting those that no longer fit), finish the leaves that
 * failed meanwhile, refresh its heartbeat, leave the recovery set, and, once no node is restoring,
 * ask the server to re-check what its clients were told. The store runs one recovery at a time.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { JoinReply, RedisCommands } from './redis-commands.js';
import { parseNodeMemberEntry } from './redis-keys.js';
import type { NodeLiveness, ReapedMember } from './redis-liveness.js';
import type { MemberRecord } from './store.js';

/** The store as a recovery sees it. */
export interface RecoveryHost {
  readonly nodeId: string;
  readonly db: RedisCommands;
  readonly liveness: NodeLiveness;
  readonly windowMs: number;
  readonly logger: Logger | undefined;
  now(): number;
  /** False once the store is closed. */
  open(): boolean;
  /** The epoch this node's members are recorded in. */
  getEpoch(): string;
  setEpoch(epoch: string): void;
  /** Every member this node holds, with the capacity it joined with. */
  held(): Array<{ room: string; record: MemberRecord; capacity: number }>;
  holds(room: string, memberId: string): boolean;
  /** Puts a member back (the join script in 'restore' mode, under the current epoch). */
  restore(room: string, record: MemberRecord, capacity: number): Promise<JoinReply>;
  /** A member that no longer fits: forget it and tell the server. */
  evict(room: string, memberId: string): Promise<void>;
  /** A member removed on this node's behalf: tell the server. */
  released(m: ReapedMember): void;
  /** The store is up again (readyz 200). */
  recovered(): void;
  /** No node is restoring any more (or the window ended): tell the server to re-check. */
  settled(): void;
}

/** Runs the recovery (see the module comment); throws when Redis fails again meanwhile. */
export async function recover(h: RecoveryHost, why: string): Promise<void> {
  const lost = (await h.db.epoch()) !== h.getEpoch();
  let expected: string[] = [];
  if (lost) {
    expected = [...new Set([...h.liveness.knownNodes, h.nodeId])];
    h.setEpoch(await h.db.beginEpoch(randomUUID(), h.windowMs, expected));
  }
  let restored = 0;
  let evicted = 0;
  for (const { room, record, capacity } of h.held()) {
    const result = await h.restore(room, { ...record, node: h.nodeId }, capacity);
    if (result.ok) {
      restored++;
    } else if (result.reason === 'full') {
      // Admitted before the loss, but newer joiners filled the room first: they keep it.
      evicted++;
      await h.evict(room, record.id);
    } else {
      throw new Error(`restore refused: ${result.reason}`);
    }
  }
  const released = await releaseStale(h);
  await h.liveness.beat();
  await h.db.restored(h.nodeId);
  h.liveness.cameUp();
  h.recovered();
  h.logger?.warn({ node: h.nodeId, why, dataLost: lost, waitingFor: expected, restored, evicted, released }, 'redis store recovered');
  void settle(h);
}

/** Removes members recorded on this node that it no longer holds (their leave failed during the outage). */
async function releaseStale(h: RecoveryHost): Promise<number> {
  let released = 0;
  for (const entry of await h.db.nodeMembers(h.nodeId)) {
    const parsed = parseNodeMemberEntry(entry);
    if (parsed === undefined || h.holds(parsed.room, parsed.memberId)) continue;
    const result = await h.db.leave(parsed.room, parsed.memberId, h.nodeId);
    if (!result.removed) continue;
    released++;
    h.released({ room: parsed.room, memberId: parsed.memberId, remaining: result.remaining });
  }
  return released;
}

/** Waits (bounded by the window) until no node is restoring, then calls settled(). */
async function settle(h: RecoveryHost): Promise<void> {
  const deadline = h.now() + h.windowMs;
  while (h.open() && h.now() < deadline) {
    if (!(await h.db.recovering().catch(() => true))) break;
    await new Promise((resolve) => setTimeout(resolve, 100).unref());
  }
  if (h.open()) h.settled();
}
