/**
 * The room/presence store: the authoritative membership of every room, resume records and resume
 * queues, and the cross-node delivery hook. The in-memory store is the embedded default; a Redis
 * store (issue 6) implements the same interface, and test/integration/store-contract.test.ts runs
 * against every implementation.
 *
 * Invariants every implementation keeps:
 * - `join` is atomic: a room never exceeds its capacity, and exactly one join observes the 1 -> 2
 *   transition (`ready`), however many joins race.
 * - A room with no members does not exist: the last `leave` frees it (and its capacity).
 * - `takeResume` is atomic: of any number of concurrent callers, at most one gets the record.
 * - Operations issued by one caller complete in the order they were issued (the server relies on
 *   it to keep a leave before a following join on the same connection).
 *
 * Every method is async in the interface even when an implementation is not, so callers are
 * written for the networked case.
 */
import { z } from 'zod';
import type { Meta } from '../protocol/messages.js';

/** A member of a room as the store records it. */
export interface MemberRecord {
  /** The member id peers address (`to`, `from`). Stable across a resume. */
  readonly id: string;
  readonly name: string;
  readonly meta: Meta;
  /** Id of the node holding the member's connection (or its resume reservation). */
  readonly node: string;
}

/** The outcome of `Store.join`. */
export type JoinResult =
  | {
      readonly ok: true;
      /** Members present before this join, in join order. */
      readonly peers: readonly MemberRecord[];
      /** The room's capacity (set by whoever created it). */
      readonly capacity: number;
      /** True for the one join that took the room from 1 to 2 members. */
      readonly ready: boolean;
    }
  | { readonly ok: false; readonly reason: 'full'; readonly capacity: number };

/** The outcome of `Store.leave`. */
export interface LeaveResult {
  /** False when the member was not (or no longer) in the room. */
  readonly removed: boolean;
  /** Members left in the room; empty means the room was freed. */
  readonly remaining: readonly MemberRecord[];
}

/** What a resume token stands for while its member is disconnected. */
export interface ResumeRecord {
  readonly room: string;
  readonly member: MemberRecord;
  /** Unix ms after which the reservation is void. */
  readonly expiresAt: number;
}

/** Signals queued for a disconnected member, handed over on resume. */
export interface QueueDrain {
  /** Server frames (already serialised), oldest first. */
  readonly frames: readonly string[];
  /** How many older frames were dropped because the queue was full. */
  readonly dropped: number;
}

/**
 * A frame for members held by other nodes. `to` addresses one member; otherwise every member of
 * the room except `except`. At-most-once: membership never depends on envelopes arriving.
 */
export interface Envelope {
  readonly room: string;
  readonly to?: string | undefined;
  readonly except?: string | undefined;
  /** The serialised server frame, built once by the sending node. */
  readonly frame: string;
  /**
   * True for frames a disconnected (resume-reserved) recipient must get later: signals and
   * `ready`. Membership frames (peer-joined/left/updated) go to connected members only.
   */
  readonly queue?: boolean | undefined;
  /** Node that published it (receivers ignore their own envelopes). */
  readonly origin: string;
  /**
   * Set (with an empty `frame`) when this member resumed on the origin node: a node still holding
   * it reserved drops its reservation silently (the member lives on, elsewhere).
   */
  readonly moved?: string | undefined;
  /**
   * Set (with an empty `frame`) by the node that held member `handedOver` reserved, in answer to
   * its `moved`, once everything it took for that member was sent on: the new node may deliver
   * newer frames to it (resume.ts; until then, or a bound, they wait behind the old node's).
   */
  readonly handedOver?: string | undefined;
  /**
   * Set on membership frames: who joined (`present: true`) or left, so receiving nodes keep track
   * of what their clients were told (re-checked against the store after an outage).
   */
  readonly presence?: { readonly id: string; readonly present: boolean } | undefined;
  /**
   * Set (with an empty `frame`) on a control message for the node holding a member: `kick` names
   * a member to remove from `room` (Hub.kick on a node that does not hold it). Parse with EnvelopeControl.
   */
  readonly control?: EnvelopeControl | undefined;
}

/** The `control` field of an Envelope, as read back from another node (parsed, never cast). */
export const EnvelopeControl = z.object({ kick: z.string().min(1).max(64) });
/** A control message for the node holding a member (see Envelope.control). */
export type EnvelopeControl = z.infer<typeof EnvelopeControl>;

/** Reachability of a store's backing service. */
export type StoreHealth = 'up' | 'down';

/** A node's load as reported to the others (GET /v1/nodes). */
export interface NodeLoad {
  readonly connections: number;
  readonly rooms: number;
  /** The node's WebSocket URL, so a client can go to it. */
  readonly url?: string | undefined;
}

/** A live node as listed by a shared store. */
export interface NodeStatus extends NodeLoad {
  readonly id: string;
  readonly startedAt: number;
  readonly updatedAt: number;
}

/** A room as the admin API lists it (docs/operations.md). */
export interface RoomSummary {
  readonly id: string;
  /** Members in the store (connected or reserved for resume), on every node. */
  readonly members: number;
  readonly capacity: number;
  /** Unix ms the room was created; undefined when the store does not know (after a data loss). */
  readonly createdAt?: number | undefined;
}

/** One page of `Store.listRooms`, rooms in id order. */
export interface RoomPage {
  readonly rooms: readonly RoomSummary[];
  /** Pass as `after` to get the next page; undefined on the last page. */
  readonly next?: string | undefined;
}

/** A member as the admin API shows it: the record and when it joined. */
export interface MemberDetail extends MemberRecord {
  /** Unix ms of the join; undefined when the store does not know. */
  readonly joinedAt?: number | undefined;
}

/** A room with its members (`Store.roomDetail`). */
export interface RoomDetail {
  readonly room: RoomSummary;
  /** In join order. */
  readonly members: readonly MemberDetail[];
}

/** The room/presence store (see the module comment for the invariants). */
export interface Store {
  /** This node's id; member records created here carry it. */
  readonly nodeId: string;
  /**
   * False for a store private to this process (MemoryStore): every member is local, so a `to`
   * that is not held here is UNKNOWN_PEER. Absent or true: other nodes may hold members, and
   * frames for members not held here are published.
   */
  readonly shared?: boolean;
  /** False while a required backing service is unreachable (readyz 503, joins get UNAVAILABLE). */
  readonly healthy: boolean;
  /** Called on every health change; returns an unsubscribe function. */
  onHealth(listener: (health: StoreHealth) => void): () => void;
  /**
   * Members this node removed because the node holding them died (shared stores only); the server
   * tells their rooms `peer-left` with reason `disconnect`; `remaining` is the room after the removal
   * (the result of this node's own store operation). Returns an unsubscribe function.
   */
  onReap?(listener: (reaped: { room: string; memberId: string; remaining: readonly MemberRecord[] }) => void): () => void;
  /**
   * Members of this node the store could not restore after it lost its data, because newer
   * joiners filled the room first (shared stores): the server closes them with MEMBERSHIP_LOST.
   */
  onEvict?(listener: (evicted: { room: string; memberId: string }) => void): () => void;
  /**
   * Called when the store recovered from an outage cluster-wide: membership frames published
   * meanwhile may be lost, so the server re-checks what its clients were told against `members`.
   */
  onResync?(listener: () => void): () => void;
  /** Records this node's load for the other nodes (shared stores; published with its heartbeat). */
  reportLoad?(load: NodeLoad): void;
  /** Live nodes with their load (shared stores). */
  nodes?(): Promise<readonly NodeStatus[]>;

  /** Adds `member` to `room` unless it is full. `capacity` applies only when this join creates the room. */
  join(room: string, member: MemberRecord, capacity: number): Promise<JoinResult>;
  /** Removes a member; frees the room when it was the last. Drops the member's resume queue. */
  leave(room: string, memberId: string): Promise<LeaveResult>;
  /** Replaces a member's metadata; undefined when the member is not in the room. */
  setMeta(room: string, memberId: string, meta: Meta): Promise<MemberRecord | undefined>;
  /** Moves a member to another node (after a resume there); undefined when not in the room. */
  setNode(room: string, memberId: string, node: string): Promise<MemberRecord | undefined>;
  /** Members of a room in join order; empty when the room does not exist. */
  members(room: string): Promise<readonly MemberRecord[]>;
  /** The capacity of a room, undefined when it does not exist. */
  capacity(room: string): Promise<number | undefined>;

  /**
   * Rooms of every node in id order, at most `limit`, starting after the id `after` (the admin
   * API's pagination). A read for operators: it may cost O(rooms) in the backing service.
   */
  listRooms(options: { readonly limit: number; readonly after?: string | undefined }): Promise<RoomPage>;
  /** A room with its members and their join times; undefined when the room does not exist. */
  roomDetail(room: string): Promise<RoomDetail | undefined>;

  /** Records a resume reservation under `token` until `record.expiresAt`. */
  putResume(token: string, record: ResumeRecord): Promise<void>;
  /** Atomically removes and returns an unexpired reservation. */
  takeResume(token: string): Promise<ResumeRecord | undefined>;

  /**
   * Appends a frame to a disconnected member's queue; beyond `max` the oldest is dropped and
   * counted. With `holder`, only while the member's record names that node: false when it does not
   * (the member resumed on another node, which drains the queue once, or left), so the caller can
   * pass the frame on instead of leaving it in a queue nobody reads.
   */
  enqueue(room: string, memberId: string, frame: string, max: number, holder?: string): Promise<boolean>;
  /** Removes and returns a member's queue. */
  drainQueue(room: string, memberId: string): Promise<QueueDrain>;

  /**
   * Sends an envelope to the other nodes. `node`, when given, is the one node holding every
   * recipient (as the caller last heard): a store may then carry it to that node alone, and the
   * envelope is only as good as that knowledge (a member that moved meanwhile misses it). Resolves
   * with how many other nodes received it (0 for a single-node store); rejects with UNAVAILABLE
   * when it could not be sent.
   */
  publish(envelope: Envelope, node?: string): Promise<number>;
  /** How many other nodes this one sends to over a direct link (docs/scaling.md "Node links"); absent without links. */
  linkedNodes?(): number;
  /**
   * Receives envelopes published by other nodes; returns an unsubscribe function. `direct`: it was
   * sent to this node alone (publish's `node`), so this node is the only one that can deliver it
   * or pass it on when the recipient is no longer here.
   */
  subscribe(handler: (envelope: Envelope, direct: boolean) => void): () => void;

  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
