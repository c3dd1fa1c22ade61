/**
 * The shapes of werift 0.24.4's internal objects that the patches read or replace.
 *
 * werift declares most of these members `private` (or does not export the class at all), so the
 * patches see them through these structural types. They describe the JavaScript in
 * node_modules/werift/lib/index.mjs (the ESM bundle `import 'werift'` loads); applyWeriftPatches()
 * refuses to run on any other werift version, so the shapes cannot silently drift.
 */

/** A werift SCTP DATA chunk (`DataChunk` in sctp/src/chunk.ts). */
export interface DataChunkLike {
  flags: number;
  tsn: number;
  streamId: number;
  streamSeqNum: number;
  protocol: number;
  userData: Buffer;
  abandoned: boolean;
  acked: boolean;
  misses: number;
  retransmit: boolean;
  sentCount: number;
  bookSize: number;
  expiry: number | undefined;
  maxRetransmits: number | undefined;
  sentTime: number | undefined;
  readonly type: number;
  readonly bytes: Buffer;
  /** Added by the send-queue patch: the data channel whose bufferedAmount this chunk holds. */
  sigctlChannel?: ChannelLike | undefined;
  /** Added by the send-queue patch: bytes of bufferedAmount released when first sent. */
  sigctlBuffered?: number;
  /** Added by the sack-retransmit patch: highest TSN sent before this chunk's fast retransmission. */
  sigctlFence?: number;
}

/** Any SCTP chunk: what `sendChunk` serialises. */
export interface ChunkLike {
  readonly type: number;
  flags: number;
  readonly bytes: Buffer;
}

/** The subset of werift's RTCDataChannel the patches use. */
export interface ChannelLike {
  id: number | undefined;
  readonly maxPacketLifeTime: number | null;
  readonly maxRetransmits: number | null;
  readonly ordered: boolean;
  setId(id: number): void;
  addBufferedAmount(amount: number): void;
}

/** Werift's `SCTP` association (sctp/src/sctp.ts); not exported by the package. */
export interface SctpLike {
  associationState: number;
  state: string;
  isServer: boolean;
  readonly isStopped: boolean;
  localPort: number;
  remotePort: number | undefined;
  remoteVerificationTag: number;
  localVerificationTag: number;
  transport: { send(data: Buffer): Promise<void> | void; dtls?: unknown };
  // inbound
  lastReceivedTsn: number;
  sackDuplicates: number[];
  sackMisOrdered: Set<number>;
  sackNeeded: boolean;
  sackImmediate: boolean;
  sackPacketCount: number;
  sackHasNewDataInPacket: boolean;
  sackTimeout: NodeJS.Timeout | undefined;
  advertisedRwnd: number;
  inboundStreams: Record<number, { streamSequenceNumber: number; popMessages(): Iterable<[number, number, Buffer]>; pruneChunks(tsn: number): number }>;
  // outbound
  cwnd: number;
  ssthresh: number;
  flightSize: number;
  readonly peerRwnd: number;
  peerAdvertisedRwnd: number;
  partialBytesAcked: number;
  fastRecoveryExit: number | undefined;
  fastRecoveryTransmit: boolean;
  forwardTsnChunk: ChunkLike | undefined;
  outboundQueue: DataChunkLike[];
  outboundStreamSeq: Record<number, number>;
  sentQueue: DataChunkLike[];
  localTsn: number;
  lastSackedTsn: number;
  timer3Handle: NodeJS.Timeout | undefined;
  flush: { execute(): void };
  onSackReceived: () => Promise<void>;
  transmit(): Promise<void>;
  transmitOnce(): Promise<void>;
  sendChunk(chunk: ChunkLike): Promise<void>;
  sendSack(): Promise<void>;
  scheduleSack(): Promise<void>;
  receiveChunk(chunk: ChunkLike): Promise<void>;
  receive(streamId: number, ppId: number, data: Buffer): void;
  getInboundStream(streamId: number): { addChunk(c: DataChunkLike): void; popMessages(): Iterable<[number, number, Buffer]>; streamSequenceNumber: number; pruneChunks(tsn: number): number };
  markReceived(tsn: number): boolean;
  receiveDataChunk(chunk: DataChunkLike): void;
  receiveSackChunk(chunk: SackChunkLike): Promise<void>;
  receiveForwardTsnChunk(chunk: { cumulativeTsn: number; streams: [number, number][] }): void;
  maybeAbandon(chunk: DataChunkLike): boolean;
  flightSizeIncrease(chunk: DataChunkLike): void;
  flightSizeDecrease(chunk: DataChunkLike): void;
  timer3Start(): void;
  timer3Restart(): void;
  timer3Cancel(): void;
  updateRto(r: number): void;
  updateAdvancedPeerAckPoint(): void;
  handleData(data: Buffer): Promise<void>;
  /** Instance arrow in werift: T3 (retransmission timer) expiry. */
  timer3Expired: () => void;
  /**
   * Added by the send-queue patch: false when no chunk in sentQueue can be marked for
   * retransmission, so transmitOnce() can skip scanning it.
   */
  sigctlRetransmitScan?: boolean;
  /** Set on the prototype by the max-burst patch: Max.Burst in packets (absent: werift's 4). */
  sigctlMaxBurst?: number;
}

/** A parsed SACK chunk. */
export interface SackChunkLike extends ChunkLike {
  cumulativeTsn: number;
  advertisedRwnd: number;
  gaps: [number, number][];
  duplicates: number[];
}
