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

/** A connected pair: the newcomer's channel sends, the first peer's receives and echoes pings. */
export interface ConnectedPair {
  sender: BenchChannel;
  receiver: BenchChannel;
  /** The newcomer's timeline (ms since its start): see PairResult. */
  at: PairResult['at'];
  candidatePair: string | null;
}

/** An engine inside one peer worker. */
export interface PairEngine {
  readonly name: Engine;
  /** Work done before any pair is timed (werift: certificate generation and JIT warm-up). */
  warmUp(): Promise<void>;
  /** Connects one pair; rejects with a SigctlError. Whatever it opened is closed by close(). */
  connectPair(spec: PairSpec): Promise<ConnectedPair>;
  /** Closes every peer and connection this engine opened (idempotent, bounded). */
  close(): Promise<void>;
  /** The runtime patches the engine runs with (werift), for the report; undefined for an engine without any. */
  patches?(): EnginePatches | undefined;
}
