/**
 * The public shapes of a PeerSession (./session.ts): its options, events and phase records. Kept
 * apart from the class, like ./link-types.ts for PeerLink, so callers can name them without it.
 */
import type { SignalClient, ClientLogger, SignalClientOptions } from '../client/signal-client.js';
import type { Clock } from '../client/clock.js';
import type { BackoffOptions } from '../client/backoff.js';
import type { SigctlError } from '../protocol/errors.js';
import type { IceServer, JoinedMessage, Meta, PeerInfo, PeerLeftReason } from '../protocol/messages.js';
import type { ChannelData, PeerChannel } from './channel.js';
import type { Dialect } from './dialect.js';
import type { LinkPhase, LinkReport } from './link-types.js';
import type { WeriftPatchStatus } from './patch-status.js';

/** Session-level phases, then the per-peer link phases. */
export type SessionPhase = 'ws-connected' | 'joined' | LinkPhase;

/** A phase reached, with a clock.now() timestamp in ms; `peer` is set for link phases. */
export interface PhaseEvent {
  phase: SessionPhase;
  at: number;
  peer?: string | undefined;
}

/** Everything known when a peer's data channel is open and its candidate pair read. */
export interface PeerConnected extends LinkReport {
  name: string;
  /** Session timestamps: connect() started, welcome received, joined. */
  session: { startedAt: number; wsConnectedAt: number; joinedAt: number };
}

/** Events of a PeerSession. */
export type PeerSessionEvents = {
  phase: [PhaseEvent];
  joined: [JoinedMessage];
  'peer-joined': [PeerInfo];
  'channel-open': [{ peer: string; name: string; channel: PeerChannel }];
  'peer-connected': [PeerConnected];
  message: [{ peer: string; name: string; data: ChannelData }];
  /** A member left the room (or its connection failed for good: reason `failed`). */
  'peer-left': [{ peer: string; name: string; reason: PeerLeftReason | 'failed' }];
  /** A peer connection could not be established (ICE_FAILED, TIMEOUT, NO_RELAY_CANDIDATES, TURN_AUTH_FAILED). */
  'peer-failed': [{ peer: string; name: string; error: SigctlError }];
  /** The signaling connection dropped; a reconnect is scheduled. Peer connections stay up. */
  reconnecting: [{ attempt: number; delayMs: number; cause: SigctlError }];
  /** Reconnected with the same member id. */
  resumed: [JoinedMessage];
  /** A non-fatal problem (bad signal payload, server error frame). */
  error: [SigctlError];
  /** Once, right after `joined`: which werift runtime patches this process runs with (skipped ones are also logged as a warning). */
  patches: [WeriftPatchStatus];
  /** Terminal. `error` is set when the session ended by failure (CONNECTION_LOST, UNAUTHORIZED, ...). */
  closed: [{ error: SigctlError | undefined }];
};

export interface PeerSessionOptions {
  /** Signaling server URL (ignored when `client` is given). */
  url?: string | undefined;
  /** An existing, not yet connected client (e.g. with custom options); the session closes it. */
  client?: SignalClient | undefined;
  token?: string | undefined;
  tokenIn?: 'query' | 'header' | undefined;
  room: string;
  name?: string | undefined;
  meta?: Meta | undefined;
  /** Capacity to ask for when this join creates the room (mesh rooms need more than the default 2). */
  capacity?: number | undefined;
  /** Extra ICE servers, used after the ones from `welcome`. */
  iceServers?: readonly IceServer[] | undefined;
  /** Only TURN relay candidates; fails with NO_RELAY_CANDIDATES before joining if no TURN server is known. */
  relayOnly?: boolean | undefined;
  /** The payload dialect to speak first (default sigctl); each peer is then answered in its own (dialect.ts). */
  dialect?: Dialect | undefined;
  /** Offer 127.0.0.1 as a host candidate (default true; werift skips loopback otherwise). */
  loopback?: boolean | undefined;
  /** Bind ICE to one IPv4 address (tests: 127.0.0.1). */
  bindAddress?: string | undefined;
  /**
   * In-order delivery on the channels this session opens (default true). A session opens the
   * channel to each member already in the room; channels opened by newcomers use their ordering.
   */
  ordered?: boolean | undefined;
  /** Signaling connect limit (ms). */
  connectTimeoutMs?: number | undefined;
  /** Per peer: start to open data channel before restart/failure (ms, default 20000). */
  iceTimeoutMs?: number | undefined;
  /** --relay-only: time for a relay candidate to appear (ms, default 10000). */
  gatherTimeoutMs?: number | undefined;
  /**
   * --relay-only: probe each UDP TURN server's credentials (one Allocate) before joining, so a
   * refused credential fails with TURN_AUTH_FAILED in about a second (default true).
   */
  turnCheck?: boolean | undefined;
  maxRestarts?: number | undefined;
  reconnect?: Partial<BackoffOptions> | false | undefined;
  /**
   * Data-channel keepalive with other sigctl peers (see KEEPALIVE_PROTOCOL; never sent to others):
   * a ping every `keepaliveMs` (default 2000); a peer silent for `deadAfterMs` (default 8000) is
   * dropped as failed. werift alone notices a killed far end only when its ICE consent checks
   * fail (CONSENT_INTERVAL 5 s x CONSENT_FAILURES 6, werift 0.24.4 lib/ice/src/iceBase.js). 0 disables.
   */
  keepaliveMs?: number | undefined;
  deadAfterMs?: number | undefined;
  clock?: Clock | undefined;
  logger?: ClientLogger | undefined;
  wsOptions?: SignalClientOptions['wsOptions'];
}
