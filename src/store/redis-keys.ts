/**
 * The Redis key layout (docs/scaling.md). Room ids are base64url-encoded inside keys and
 * channels, so no room id (`:`, `{`, `*` or anything else) can collide with another room's keys,
 * reach another key family, or match a pattern. Every key of one room shares the hash tag
 * `{<b64 room>}`, so a room's keys sit in one slot under Redis Cluster.
 */

export function encodeRoom(room: string): string {
  return Buffer.from(room, 'utf8').toString('base64url');
}

export function decodeRoom(encoded: string): string {
  return Buffer.from(encoded, 'base64url').toString('utf8');
}

/**
 * Key builder for one deployment prefix (config redis.keyPrefix, default `sigctl:`).
 *
 * Under Redis Cluster (`sharded`), the keys that are not a room's (node liveness, node member
 * sets, epoch, recovery, reap locks) all carry the hash tag `{g}`, so they sit in one slot and the
 * scripts and reads that combine them (HEARTBEAT, BEGIN_EPOCH, MGET of node keys) stay legal; a
 * room's channel carries the room's tag, so its sharded pub/sub lives on the room's shard.
 */
export class RedisKeys {
  /** Prefix of the node keys: `<prefix>node:`, or `<prefix>{g}:node:` under Cluster. */
  readonly nodePrefix: string;
  private readonly global: string;

  constructor(
    readonly prefix: string,
    readonly sharded = false,
  ) {
    this.global = sharded ? `${prefix}{g}:` : prefix;
    this.nodePrefix = `${this.global}node:`;
  }

  /** Hash: member id -> JSON {id, name, node, seq}. */
  members(room: string): string {
    return `${this.prefix}room:{${encodeRoom(room)}}:members`;
  }
  /** Hash: member id -> metadata JSON (kept apart so Lua never re-encodes user JSON). */
  meta(room: string): string {
    return `${this.prefix}room:{${encodeRoom(room)}}:meta`;
  }
  /** String: the room's capacity, set by the join that created it. */
  capacity(room: string): string {
    return `${this.prefix}room:{${encodeRoom(room)}}:cap`;
  }
  /** Counter giving members their join order. */
  seq(room: string): string {
    return `${this.prefix}room:{${encodeRoom(room)}}:seq`;
  }
  /** List: frames queued for a disconnected member. */
  queue(room: string, memberId: string): string {
    return `${this.prefix}room:{${encodeRoom(room)}}:q:${memberId}`;
  }
  /** Counter: frames dropped from that queue. */
  queueDropped(room: string, memberId: string): string {
    return `${this.prefix}room:{${encodeRoom(room)}}:qd:${memberId}`;
  }
  /** Pub/sub channel of a room: envelopes for members held by other nodes. */
  channel(room: string): string {
    return this.sharded ? `${this.prefix}ch:{${encodeRoom(room)}}` : `${this.prefix}ch:${encodeRoom(room)}`;
  }
  /**
   * Pub/sub channel of one node: signals for members this node holds, from any room (single Redis
   * and Sentinel only; under Cluster every envelope takes its room's channel, see redis-channels.ts).
   */
  nodeChannel(nodeId: string): string {
    return `${this.prefix}nodech:${nodeId}`;
  }
  /** String with TTL: a resume reservation. */
  resume(token: string): string {
    return `${this.prefix}resume:${token}`;
  }
  /** Set of live node ids. */
  nodes(): string {
    return `${this.global}nodes`;
  }
  /** String with TTL: a node's heartbeat and load. Its absence means the node is dead. */
  node(nodeId: string): string {
    return `${this.nodePrefix}${nodeId}`;
  }
  /** String with TTL: where a node listens for direct links (node-links.ts), `{host, port, token}`. */
  nodeLink(nodeId: string): string {
    return `${this.nodePrefix}${nodeId}:link`;
  }
  /** Set of `<b64 room> <member id>` held by a node, so survivors can reap them. */
  nodeMembers(nodeId: string): string {
    return `${this.nodePrefix}${nodeId}:members`;
  }
  /**
   * String: a random id written once into an empty Redis. A node that finds another value (or
   * none) knows Redis lost its data since it last looked (restart, failover) and restores.
   */
  epoch(): string {
    return `${this.global}epoch`;
  }
  /** Set with TTL: nodes still restoring their members after a data loss; joins wait while it exists. */
  recovery(): string {
    return `${this.global}recovery`;
  }
  /** Lock so that one survivor reaps a dead node. */
  reapLock(nodeId: string): string {
    return `${this.global}reap:${nodeId}`;
  }
}

/** The entry for a member in a node's member set. */
export function nodeMemberEntry(room: string, memberId: string): string {
  return `${encodeRoom(room)} ${memberId}`;
}

export function parseNodeMemberEntry(entry: string): { room: string; memberId: string } | undefined {
  const i = entry.indexOf(' ');
  if (i <= 0) return undefined;
  return { room: decodeRoom(entry.slice(0, i)), memberId: entry.slice(i + 1) };
}
