/**
 * Node liveness over Redis: each node refreshes `node:<id>` (TTL 2 heartbeats) with its load; on
 * every heartbeat it lists the registered nodes, remembers the live ones (the nodes a recovery
 * window waits for), and, holding a per-node lock, removes the members of nodes whose key expired.
 * Nobody is judged within 2 heartbeats of this node's store coming up: after an outage or a
 * freeze every key may have expired, and the other nodes need a heartbeat to show they live.
 */
import type { Logger } from 'pino';
import type { RedisCommands } from './redis-commands.js';
import { parseNodeMemberEntry } from './redis-keys.js';
import type { MemberRecord, NodeLoad } from './store.js';

/** A member removed from the store by this node on another's behalf (a dead node's, or a stale leave). */
export interface ReapedMember {
  room: string;
  memberId: string;
  remaining: readonly MemberRecord[];
}

/** What liveness needs from the store. */
export interface LivenessOptions {
  db: RedisCommands;
  nodeId: string;
  heartbeatMs: number;
  now: () => number;
  logger: Logger | undefined;
  /** This node's link address as advertised (JSON), when it listens for links (node-links.ts). */
  link?: (() => string | undefined) | undefined;
}

/** This node's heartbeat and the judgement of the others (see the module comment). */
export class NodeLiveness {
  /** Nodes seen alive at the last scan, this one included. */
  knownNodes: readonly string[] = [];
  /** Load published with the next heartbeat. */
  load: NodeLoad = { connections: 0, rooms: 0 };
  private upSince = 0;
  private readonly startedAt: number;

  constructor(private readonly o: LivenessOptions) {
    this.startedAt = o.now();
  }

  /** The store came up (started or recovered): the reaping grace starts now. */
  cameUp(): void {
    this.upSince = this.o.now();
  }

  /** Refreshes this node's key; returns whether it still existed, and Redis's epoch. */
  async beat(): Promise<{ had: boolean; epoch: string }> {
    const { db, nodeId, now, heartbeatMs } = this.o;
    const link = this.o.link?.();
    const [result] = await Promise.all([db.heartbeat({ id: nodeId, ...this.load, startedAt: this.startedAt, updatedAt: now() }, heartbeatMs * 2), link === undefined ? undefined : db.setLink(nodeId, link, heartbeatMs * 2)]);
    return result;
  }

  /** Lists the registered nodes; remembers the live ones and returns the dead. */
  async scan(): Promise<string[]> {
    const alive: string[] = [];
    const dead: string[] = [];
    for (const id of await this.o.db.nodeIds()) {
      if (id === this.o.nodeId || (await this.o.db.nodeAlive(id))) alive.push(id);
      else dead.push(id);
    }
    this.knownNodes = alive;
    return dead;
  }

  /** Removes the members of dead nodes (one reaper per dead node), reporting each to `reaped`. */
  async reap(reaped: (m: ReapedMember) => void): Promise<void> {
    const { db, nodeId, now, heartbeatMs, logger } = this.o;
    const dead = await this.scan();
    if (now() - this.upSince < 2 * heartbeatMs) return;
    for (const id of dead) {
      if (!(await db.lockReap(id, nodeId))) continue;
      let count = 0;
      for (const entry of await db.nodeMembers(id)) {
        const parsed = parseNodeMemberEntry(entry);
        if (parsed === undefined) continue;
        const result = await db.leave(parsed.room, parsed.memberId, id);
        if (!result.removed) continue;
        count++;
        reaped({ room: parsed.room, memberId: parsed.memberId, remaining: result.remaining });
      }
      await db.dropNode(id);
      logger?.warn({ deadNode: id, reaped: count }, 'reaped members of a dead node');
    }
  }
}
