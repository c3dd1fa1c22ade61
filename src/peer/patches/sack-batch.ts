/**
 * Patch "sack-batch": the every-second-packet SACK goes out once per batch of packets read from
 * the socket, not after every second packet.
 *
 * Replaces `SCTP.prototype.scheduleSack` and wraps `SCTP.prototype.receiveDataChunk` (werift
 * 0.24.4, sctp/src/sctp.ts; after sack-frequency, whose scheduleSack this supersedes). RFC 9260
 * section 6.2 asks for a SACK for at least every second packet carrying new DATA. Node hands
 * datagrams to JavaScript one 'message' event at a time, but libuv reads every datagram waiting on
 * the socket in one poll phase; werift (and sack-frequency) answer the second packet of each pair
 * at once, so a burst of N packets costs N/2 SACKs, each a full DTLS record to seal, send, receive,
 * open and process on the other end: for 16 KiB messages (14 packets) a third of all the packets
 * on the wire and of the per-packet work (cipher object, system call, CRC32c) is SACKs.
 *
 * After the patch that SACK is sent from setImmediate(), i.e. right after the poll phase that read
 * the packet, so one SACK covers every packet that arrived together (the acknowledgement is
 * delayed by no more than the time to process the batch, never by a timer). SACKs that recovery
 * depends on are not batched: a duplicate TSN, a gap, and the chunk that closes a gap are SACKed
 * at once, as before. A packet with new data that is alone (odd) keeps sack-frequency's short
 * delayed-SACK timer. The sender's slow start grows cwnd per SACK (by up to two MTUs,
 * sack-retransmit): fewer SACKs only slow that ramp while cwnd is below the data in flight.
 */
import type { WeriftPatch } from './types.js';
import type { DataChunkLike, SctpLike } from './internals.js';
import { DELAYED_SACK_MS } from './sack-frequency.js';

/** What this patch keeps on an association besides werift's own fields. */
interface BatchState {
  /** A SACK recovery is waiting for (duplicate, gap, closed gap): sent now, not batched. */
  sackUrgent?: boolean;
  /** The pending end-of-batch SACK. */
  sackBatch?: NodeJS.Immediate | undefined;
}
type Sctp = SctpLike & BatchState;

function makeReceiveDataChunk(original: (this: SctpLike, chunk: DataChunkLike) => void) {
  /** werift's (or sack-frequency's) receiveDataChunk, noting when its SACK must not wait. */
  return function receiveDataChunk(this: Sctp, chunk: DataChunkLike): void {
    const hadGap = this.sackMisOrdered.size > 0;
    const duplicates = this.sackDuplicates.length;
    original.call(this, chunk);
    if (hadGap || this.sackMisOrdered.size > 0 || this.sackDuplicates.length > duplicates) this.sackUrgent = true;
  };
}

/** Replaces SCTP.prototype.scheduleSack (sctp/src/sctp.ts). */
async function scheduleSack(this: Sctp): Promise<void> {
  if (this.isStopped || !this.sackNeeded) return;
  if (this.sackUrgent === true) {
    this.sackUrgent = false;
    cancelPending(this);
    await this.sendSack();
    return;
  }
  if (this.sackImmediate) {
    // Every second packet: one SACK after everything this poll phase read.
    if (this.sackBatch !== undefined) return;
    if (this.sackTimeout) {
      clearTimeout(this.sackTimeout);
      this.sackTimeout = undefined;
    }
    this.sackBatch = setImmediate(() => {
      this.sackBatch = undefined;
      this.sendSack().catch(() => undefined);
    });
    return;
  }
  if (this.sackTimeout || this.sackBatch !== undefined) return;
  this.sackTimeout = setTimeout(() => {
    this.sackTimeout = undefined;
    this.sendSack().catch(() => undefined);
  }, DELAYED_SACK_MS);
}

function cancelPending(sctp: Sctp): void {
  if (sctp.sackTimeout) {
    clearTimeout(sctp.sackTimeout);
    sctp.sackTimeout = undefined;
  }
  if (sctp.sackBatch !== undefined) {
    clearImmediate(sctp.sackBatch);
    sctp.sackBatch = undefined;
  }
}

/** See the module comment. */
export const sackBatchPatch: WeriftPatch = {
  name: 'sack-batch',
  summary: 'the every-second-packet SACK is sent once per batch of packets read together (setImmediate), not per packet pair',
  apply(internals) {
    const proto = internals.sctpProto as unknown as Record<string, unknown>;
    const original = proto.receiveDataChunk as (this: SctpLike, chunk: DataChunkLike) => void;
    if (typeof original !== 'function' || typeof proto.scheduleSack !== 'function') throw new Error('SCTP.receiveDataChunk/scheduleSack not found');
    proto.receiveDataChunk = makeReceiveDataChunk(original);
    proto.scheduleSack = scheduleSack;
  },
};
