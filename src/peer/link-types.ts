/**
 * The public shapes of a PeerLink (./link.ts): its options, events, phases and report, and the
 * signal payloads it sends. Kept apart so session, bench and tests can name them without the class.
 */
import type { Clock } from '../client/clock.js';
import type { SigctlError } from '../protocol/errors.js';
import type { OutgoingCandidate } from './candidates.js';
import type { ChannelData, PeerChannel } from './channel.js';
import type { SelectedPair } from './stats.js';
import type { WeriftPeerOptions } from './werift-factory.js';

/** Connection phases of one link, in the order they normally happen. */
export type LinkPhase = 'offer-sent' | 'offer-received' | 'answer-sent' | 'answer-received' | 'ice-connected' | 'dtls-connected' | 'channel-open';

/** How a link came up: phase timestamps (clock.now() ms), the selected pair, restarts needed. */
export interface LinkReport {
  peer: string;
  /** When this link (or its latest restart) started. */
  startedAt: number;
  phases: Partial<Record<LinkPhase, number>>;
  pair: SelectedPair | undefined;
  restarts: number;
}

/** Events of a PeerLink. */
export type PeerLinkEvents = {
  phase: [phase: LinkPhase, at: number];
  /** The data channel is open (again, after a restart). */
  'channel-open': [PeerChannel];
  /** Channel open and the selected pair read: the link is usable. */
  connected: [LinkReport];
  message: [ChannelData];
  /** A signal from the far end could not be used (invalid payload, bad SDP); the link goes on. */
  'signal-error': [SigctlError];
  /** Recovering: the peer connection is being recreated. */
  restarting: [reason: string];
  /** Terminal: ICE_FAILED, TIMEOUT, NO_RELAY_CANDIDATES or TURN_AUTH_FAILED. The link is closed. */
  failed: [SigctlError];
  closed: [];
};

/** A shape of signal payloads (dialect.ts): sigctl's own, Spring-style seed apps', or bare W3C init objects. */
export type Dialect = 'sigctl' | 'seed' | 'plain';

/** The signal payloads a link sends (the W3C perfect-negotiation shape). */
export type OutgoingSignal = { description: { type: 'offer' | 'answer'; sdp: string } } | OutgoingCandidate;

export interface PeerLinkOptions extends WeriftPeerOptions {
  remoteId: string;
  /** Perfect negotiation: the polite peer rolls back its own offer when offers cross (the smaller id is polite). */
  polite: boolean;
  /** Creates the data channel and makes the first offer (by convention: the newcomer). */
  initiator: boolean;
  /** The payload dialect to speak before the far end has spoken (default sigctl; dialect.ts). */
  dialect?: Dialect | undefined;
  /** Delivers a payload to the far end (in the link's own shape; the caller writes it in `link.dialect`). */
  sendSignal: (data: OutgoingSignal) => void;
  clock?: Clock | undefined;
  /** From start (or restart) to an open data channel, before a restart or failure (ms, default 20000). */
  connectTimeoutMs?: number | undefined;
  /** With relayOnly: time for a relay candidate to appear (ms, default 10000; werift's own gathering stalls on bad TURN credentials). */
  gatherTimeoutMs?: number | undefined;
  /** Recreate-and-reoffer attempts after a failure (default 1). */
  maxRestarts?: number | undefined;
  /** Data channel label (default "sigctl"). */
  channelLabel?: string | undefined;
  /** Sub-protocol of the channel this side creates (RTCDataChannel.protocol; default none). */
  channelProtocol?: string | undefined;
  /**
   * In-order delivery on the data channel (default true). Only the initiator's value counts: it
   * creates the channel, and the far end adopts the ordering announced in the DCEP open.
   */
  ordered?: boolean | undefined;
}
