/**
 * The life of a member on this node, and of the connection seat it occupies: both state machines in
 * one place (modelled on src/client/state.ts). Every state change of a member or a connection goes
 * through `transition()`, which throws on a move its table does not allow: such a move is a bug.
 *
 * A connection's seat (one room per connection):
 *
 *   idle ──join──▶ joining ──store join / resume──▶ joined
 *    ▲               │ (refused, failed)               │ leave, kicked, evicted, replaced
 *    └───────────────┴─────────────────────────────────┘
 *   any state ──socket closed──▶ closed (terminal)
 *
 * A member (what the room knows, kept across its connections):
 *
 *   live ──connection dropped, grace > 0──▶ away ──join with its resume token──▶ resuming ──queue flushed──▶ live
 *    │ │                                     │  ▲                                   ▲ │
 *    │ │                                     │  └──────── dropped again mid-resume ─┼─┘
 *    │ └── resumed on a newer connection before this one was seen to drop ──────────┘
 *    └─ leave, disconnect, kick, evict ──▶ gone ◀── grace ended, kick, moved to another node
 *
 * Invariants:
 * - `gone` and `closed` are terminal: a gone member is in no index and gets no frame; a closed
 *   connection is never joined again.
 * - A member has an outbox exactly while `live` or `resuming`; while `away` its frames go to the store
 *   queue, while `resuming` to `pending` (flushed in order after the queue when it turns live).
 * - The grace timer runs exactly while `away`; leaving `away` clears it.
 * - The resume token is the member's: a new one is issued on each join and resume (`renew`).
 */
import type { WireErrorCode } from '../protocol/errors.js';
import type { MessageId } from '../protocol/messages.js';
import type { MemberRecord } from '../store/store.js';
import type { Frame } from './frames.js';

/** Where a connection is in its membership life (one room per connection). */
export type ConnectionState = 'idle' | 'joining' | 'joined' | 'closed';

/** Where a member is in its life on this node. */
export type MemberState = 'live' | 'away' | 'resuming' | 'gone';

/** A state machine's name and its allowed transitions; anything else is a bug and throws. */
export interface Lifecycle<S extends string> {
  readonly name: string;
  readonly table: Readonly<Record<S, readonly S[]>>;
}

/** The connection seat's transitions (see the module diagram). */
export const CONNECTION_LIFECYCLE: Lifecycle<ConnectionState> = {
  name: 'connection',
  table: {
    idle: ['joining', 'closed'],
    joining: ['idle', 'joined', 'closed'],
    joined: ['idle', 'closed'],
    closed: [],
  },
};

/** The member's transitions (see the module diagram). */
export const MEMBER_LIFECYCLE: Lifecycle<MemberState> = {
  name: 'member',
  table: {
    live: ['away', 'resuming', 'gone'],
    away: ['resuming', 'gone'],
    resuming: ['live', 'away', 'gone'],
    gone: [],
  },
};

/** True when `from -> to` is a legal transition of `lifecycle`. */
export function canTransition<S extends string>(lifecycle: Lifecycle<S>, from: S, to: S): boolean {
  return lifecycle.table[from].includes(to);
}

/**
 * The one place a member's or a connection's state changes; throws on an illegal move. Member and
 * Connection declare `state` readonly, so any other assignment fails to compile (a readonly
 * property still satisfies `{ state: S }` here, which is what lets this function write it).
 */
export function transition<S extends string>(lifecycle: Lifecycle<S>, subject: { state: S }, to: S): void {
  if (!canTransition(lifecycle, subject.state, to)) throw new Error(`illegal ${lifecycle.name} transition ${subject.state} -> ${to}`);
  subject.state = to;
}

/** Why a connection ended (see Connection.endKind). */
export type EndKind = 'abnormal' | 'clean' | 'kicked' | 'replaced';

/**
 * What the hub needs of a member's connection, whatever protocol it speaks at its edge (v1, or a
 * compat codec behind Connection.codec): send a v1 frame, send an error, and end the membership
 * from the server's side (the connection forgets its room and closes with `code`).
 */
export interface Outbox {
  sendFrame(frame: Frame): void;
  sendError(code: WireErrorCode, message: string, re?: MessageId): void;
  /** The membership ended on the server's side: back to idle, then the socket closes with `code`. */
  dismiss(kind: EndKind, code: number, reason: string): void;
}

/** Timers, injected so that a test can drive the grace period. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's own timers; a grace timer does not keep the process alive. */
export const REAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A member this node holds (or a remote member it knows of: `record.node` names its node). */
export class Member {
  /** Changed only by transition() (readonly to everyone else). */
  readonly state: MemberState;
  /** Frames held while `resuming`. */
  private held: Frame[] | undefined;
  /** Frames held while `resuming` that go before `held`: the old node's, on a move between nodes. */
  private early: Frame[] | undefined;
  private grace: unknown;

  constructor(
    public record: MemberRecord,
    /** The member's connection while `live` or `resuming`. */
    public conn: Outbox | undefined,
    /** The resume token the member's client holds. */
    public token: string,
    state: 'live' | 'away',
    private readonly timers: Timers,
  ) {
    this.state = state;
  }

  /** live (or resuming) -> away: the connection dropped; `onExpire` runs when `graceMs` pass without a resume. */
  goAway(graceMs: number, onExpire: () => void): void {
    transition(MEMBER_LIFECYCLE, this, 'away');
    this.conn = undefined;
    this.grace = this.timers.setTimeout(() => {
      this.grace = undefined;
      onExpire();
    }, graceMs);
  }

  /** away (or live, superseded) -> resuming on `conn`: frames from now on are held until `finishResume`. */
  beginResume(conn: Outbox): void {
    transition(MEMBER_LIFECYCLE, this, 'resuming');
    this.stopGrace();
    this.held = [];
    this.conn = conn;
  }

  /** resuming -> live: returns the frames held meanwhile (to be sent after the store queue). */
  finishResume(token: string): Frame[] {
    transition(MEMBER_LIFECYCLE, this, 'live');
    this.token = token;
    return this.takeHeld();
  }

  /** resuming -> away: the new connection dropped too; returns the held frames (for the store queue). */
  abortResume(graceMs: number, onExpire: () => void): Frame[] {
    const held = this.takeHeld();
    this.goAway(graceMs, onExpire);
    return held;
  }

  /**
   * Holds a frame while `resuming`; an `early` one (sent on by the node the member moved from)
   * goes before every frame held otherwise, which are newer than it.
   */
  hold(frame: Frame, early = false): void {
    if (this.held === undefined) return;
    if (early) (this.early ??= []).push(frame);
    else this.held.push(frame);
  }

  /** Any -> gone (idempotent): no timer, no outbox, no held frames. */
  end(): void {
    if (this.state === 'gone') return;
    transition(MEMBER_LIFECYCLE, this, 'gone');
    this.stopGrace();
    this.held = undefined;
    this.early = undefined;
    this.conn = undefined;
  }

  private takeHeld(): Frame[] {
    const held = this.early === undefined ? (this.held ?? []) : [...this.early, ...(this.held ?? [])];
    this.held = undefined;
    this.early = undefined;
    return held;
  }

  private stopGrace(): void {
    if (this.grace !== undefined) this.timers.clearTimeout(this.grace);
    this.grace = undefined;
  }
}

/** The members of one room held by this node, by id. */
export type LocalRoom = ReadonlyMap<string, Member>;
