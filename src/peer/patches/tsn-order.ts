/**
 * Patch "tsn-order": received TSNs are ordered as 32-bit serial numbers, in O(1) per packet.
 *
 * Replaces (werift 0.24.4, sctp/src/sctp.ts):
 * - `SCTP.prototype.markReceived`: the original copies the set of out-of-order TSNs and sorts it
 *   with the default Array sort, which compares numbers as STRINGS ("1000000000" < "999999999"),
 *   then rebuilds the set, on every DATA chunk. When TSNs cross a power of ten (or wrap at 2^32)
 *   the cumulative TSN stops advancing past the boundary while chunks are out of order, and the
 *   per-packet copy and sort make every packet cost O(out-of-order chunks).
 * - `SCTP.prototype.sendSack`: gap blocks come from the same string sort, so they can be out of
 *   order or, across the 2^32 wrap, negative.
 * - `SCTP.prototype.receiveForwardTsnChunk`: same string sort.
 *
 * After the patch the cumulative TSN advances by walking `lastReceivedTsn + 1` through the set
 * (amortised O(1) per chunk), and gap blocks are built from offsets relative to the cumulative
 * TSN, sorted numerically (RFC 4960 section 3.3.4).
 */
import type { WeriftPatch } from './types.js';
import { TSN_MODULO, uint32Gt, uint32Gte } from './tsn.js';
import type { SctpLike } from './internals.js';
import type { WeriftInternals } from './reach.js';


/** Advances lastReceivedTsn over every consecutive TSN already received out of order. */
function advanceCumulative(sctp: SctpLike): void {
  let last = sctp.lastReceivedTsn;
  let next = (last + 1) % TSN_MODULO;
  while (sctp.sackMisOrdered.has(next)) {
    sctp.sackMisOrdered.delete(next);
    last = next;
    next = (next + 1) % TSN_MODULO;
  }
  sctp.lastReceivedTsn = last;
  if (sctp.sackDuplicates.length > 0) sctp.sackDuplicates = sctp.sackDuplicates.filter((x) => uint32Gt(x, last));
}

/** Replaces SCTP.prototype.markReceived: true when `tsn` is a duplicate. */
function markReceived(this: SctpLike, tsn: number): boolean {
  if (uint32Gte(this.lastReceivedTsn, tsn) || this.sackMisOrdered.has(tsn)) {
    this.sackDuplicates.push(tsn);
    return true;
  }
  if (tsn === (this.lastReceivedTsn + 1) % TSN_MODULO && this.sackMisOrdered.size === 0) {
    this.lastReceivedTsn = tsn; // the common in-order case
    if (this.sackDuplicates.length > 0) this.sackDuplicates = this.sackDuplicates.filter((x) => uint32Gt(x, tsn));
    return false;
  }
  this.sackMisOrdered.add(tsn);
  advanceCumulative(this);
  return false;
}

function makeSendSack(internals: WeriftInternals) {
  /** Replaces SCTP.prototype.sendSack. */
  return async function sendSack(this: SctpLike): Promise<void> {
    if (this.isStopped || !this.sackNeeded) return;
    const last = this.lastReceivedTsn;
    const offsets = [...this.sackMisOrdered].map((tsn) => (tsn - last + TSN_MODULO) % TSN_MODULO).sort((a, b) => a - b);
    const gaps: [number, number][] = [];
    for (const pos of offsets) {
      const gap = gaps[gaps.length - 1];
      if (gap && pos === gap[1] + 1) gap[1] = pos;
      else gaps.push([pos, pos]);
    }
    const sack = new internals.SackChunk(0, undefined);
    sack.cumulativeTsn = last;
    sack.advertisedRwnd = Math.max(0, this.advertisedRwnd);
    sack.duplicates = [...this.sackDuplicates];
    sack.gaps = gaps;
    await this.sendChunk(sack).catch(() => undefined);
    this.sackDuplicates = [];
    this.sackNeeded = false;
    this.sackPacketCount = 0;
    this.sackImmediate = false;
  };
}

/** Replaces SCTP.prototype.receiveForwardTsnChunk (RFC 3758 section 3.6). */
function receiveForwardTsnChunk(this: SctpLike, chunk: { cumulativeTsn: number; streams: [number, number][] }): void {
  this.sackNeeded = true;
  this.sackImmediate = true;
  if (uint32Gte(this.lastReceivedTsn, chunk.cumulativeTsn)) return;
  this.lastReceivedTsn = chunk.cumulativeTsn;
  for (const tsn of this.sackMisOrdered) {
    if (!uint32Gt(tsn, chunk.cumulativeTsn)) this.sackMisOrdered.delete(tsn);
  }
  advanceCumulative(this);
  for (const [streamId, streamSeqNum] of chunk.streams) {
    const inbound = this.getInboundStream(streamId);
    inbound.streamSequenceNumber = (streamSeqNum + 1) & 0xffff;
    for (const message of inbound.popMessages()) {
      this.advertisedRwnd += message[2].length;
      this.receive(...message);
    }
  }
  for (const inbound of Object.values(this.inboundStreams)) {
    this.advertisedRwnd += inbound.pruneChunks(this.lastReceivedTsn);
  }
}

/** See the module comment. */
export const tsnOrderPatch: WeriftPatch = {
  name: 'tsn-order',
  summary: 'received TSNs are ordered numerically (serial-number arithmetic), not as strings, in O(1) per chunk',
  apply(internals) {
    const proto = internals.sctpProto as unknown as Record<string, unknown>;
    proto.markReceived = markReceived;
    proto.sendSack = makeSendSack(internals);
    proto.receiveForwardTsnChunk = receiveForwardTsnChunk;
  },
};
