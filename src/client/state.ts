/**
 * The signaling client's connection state machine (after livekit's SignalClientStateMachine).
 *
 *   idle ──connect()──▶ connecting ──welcome──▶ connected ──join()──▶ joined
 *                          │                       ▲   │                │
 *                          │ (first connect fails: │   │ leave()        │ unexpected close
 *                          │  connect() rejects)   │   ◀────────────────┤ (socket drop, bye,
 *                          ▼                       │                    │  missed heartbeats)
 *                        closed ◀─── gives up ── reconnecting ◀─────────┘
 *                          ▲                       │  backoff, then a new socket; when it was
 *                          │                       │  joined, re-join with resumeToken
 *                          └──── close(), fatal ───┘
 *
 * Invariants:
 * - At most one WebSocket exists at a time; a socket's events are ignored once it is not current.
 * - `closed` is terminal: nothing reconnects after close(), a fatal error (FATAL_CODES, an HTTP
 *   401/403 on upgrade) or a non-retryable close code; the client must be recreated.
 * - `reconnecting` is entered only from `joined` (or from `connecting` while a reconnect is under
 *   way) and only for an unexpected close: reconnecting exists to keep a membership. A deliberate
 *   leave() keeps the socket (state `connected`); if that socket drops later, the client closes.
 * - Every pending request is rejected when its socket goes away (CONNECTION_LOST) or on close().
 */

/** The states of a SignalClient. */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'joined' | 'reconnecting' | 'closed';

/** Allowed transitions; anything else is a bug and throws. */
const TRANSITIONS: Readonly<Record<ClientState, readonly ClientState[]>> = {
  idle: ['connecting', 'closed'],
  connecting: ['connected', 'reconnecting', 'closed'],
  connected: ['joined', 'reconnecting', 'closed'],
  joined: ['connected', 'reconnecting', 'closed'],
  reconnecting: ['connecting', 'closed'],
  closed: [],
};

/** True when `from -> to` is a legal transition. */
export function canTransition(from: ClientState, to: ClientState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** WebSocket close codes after which reconnecting would only repeat the failure. */
export const NON_RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([
  1008, // policy violation
  1009, // our frame was too large: resending it would fail again
  4011, // another connection resumed this member: it now owns the membership
  4014, // the operator kicked this member (KICKED): rejoining on its own would undo the kick
]);
