/**
 * The shapes shared by the data-channel engines (engine-werift.ts, engine-ndc.ts), their loader
 * (engine.ts) and the peer worker; types only, so that every one of them imports downwards.
 * Also the one BenchChannel of the repository: the top-level bench/ scripts use it too.
 */
import type { Engine, EnginePatches, PairResult } from './peer-messages.js';

/** One end of a measured data channel, whatever the engine. */
export interface BenchChannel {
  readonly isOpen: boolean;
  readonly bufferedAmount: number;
  /** In-order delivery as this end knows it (the answering end learns it from the DCEP open). */
  readonly ordered: boolean;
  /** Sends now; throws a SigctlError when the channel is not open. */
  send(data: string | Buffer): void;
  /** Sends after waiting until the engine's queue is below the high-water mark (backpressure). */
  sendWithBackpressure(data: Buffer, options: { signal?: AbortSignal }): Promise<void>;
  /** Adds a message listener; returns a function that removes it. */
  onMessage(listener: (data: string | Buffer) => void): () => void;
}

/** What a pair is connected with. */
export interface PairSpec {
  index: number;
  room: string;
  /** The URL of the first peer (joins first, answers) and of the second (newcomer, offers). */
  urls: readonly [string, string];
  /** Start to open channel, ms. */
  timeoutMs: number;
  ordered: boolean;
  bindAddress?: string | undefined;
  token?: string | undefined;
}

/** The first peer of a pair, joined and waiting for the newcomer's offer. */
export interface FirstPeer {
  /** Its channel once the newcomer opened it (the DCEP open arrived); rejects on failure or timeout. */
  readonly open: Promise<BenchChannel>;
}

/** The newcomer of a pair, connected: its channel sends bulk data and pings. */
export interface ConnectedNewcomer {
  sender: BenchChannel;
  /** The newcomer's timeline (ms since its start): see PairResult. */
  at: PairResult['at'];
  candidatePair: string | null;
}

/**
 * An engine inside one peer worker. The two peers of a pair live in different workers (one
 * thread or process each, see peers.ts), so each peer has its own event loop, as a `sigctl peer`
 * has: the first peer's worker calls joinFirst, the newcomer's connectNewcomer once every first
 * peer has joined.
 */
export interface PairEngine {
  readonly name: Engine;
  /** Work done before any pair is timed (werift: certificate generation and JIT warm-up). */
  warmUp(): Promise<void>;
  /** Joins the pair's room as its first peer (urls[0]); rejects with a SigctlError. Whatever it opened is closed by close(). */
  joinFirst(spec: PairSpec): Promise<FirstPeer>;
  /** Joins as the newcomer (urls[1]), offers and resolves once its channel is open; rejects with a SigctlError. */
  connectNewcomer(spec: PairSpec): Promise<ConnectedNewcomer>;
  /** Closes every peer and connection this engine opened (idempotent, bounded). */
  close(): Promise<void>;
  /** The runtime patches the engine runs with (werift), for the report; undefined for an engine without any. */
  patches?(): EnginePatches | undefined;
}
