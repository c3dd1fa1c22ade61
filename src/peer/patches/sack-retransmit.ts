/**
 * Patch "sack-retransmit": a lost chunk is counted missing only by acks of data sent after it,
 * so each loss is retransmitted once (and a lost retransmission again, promptly).
 *
 * Replaces `SCTP.prototype.receiveSackChunk` (werift 0.24.4, sctp/src/sctp.ts). The original
 * increments the miss indications of every chunk below the highest newly acked TSN that the SACK
 * does not cover, including chunks already marked for retransmission and chunks whose
 * retransmission is simply still in flight. Such a chunk reaches three misses again, has its bytes
 * subtracted from flightSize again (flightSize drifts below what is really in flight, so cwnd is
 * overrun) and is sent again: one loss costs several copies.
 *
 * After the patch (RFC 4960 section 7.2.4 HTNA, extended as in RFC 8985's detection of lost
 * retransmissions): a chunk marked for retransmission and not yet resent is not counted; a chunk
 * that was fast-retransmitted remembers the highest TSN sent before its retransmission (its
 * "fence") and is counted missing only when a SACK newly acknowledges a TSN above that fence,
 * i.e. data sent after the retransmission arrived and the retransmission did not. RFC 4960 itself
 * leaves a lost retransmission to the T3 timer (RTO.Min = 1 s), which measured as a multi-second
 * stall per lost retransmission at 1% loss. In slow start cwnd grows by up to two MTUs per SACK
 * (RFC 3465 byte counting, L = 2) instead of one, so delayed SACKs (RFC 4960 section 6.2, the
 * sack-frequency patch) do not halve the growth. Everything else is the original algorithm.
 */
import type { WeriftPatch } from './types.js';
import { TSN_MODULO, uint32Gt, uint32Gte } from './tsn.js';
import type { SackChunkLike, SctpLike } from './internals.js';

const USERDATA_MAX_LENGTH = 1200;

/** Replaces SCTP.prototype.receiveSackChunk (sctp/src/sctp.ts). */
async function receiveSackChunk(this: SctpLike, chunk: SackChunkLike): Promise<void> {
  if (uint32Gt(this.lastSackedTsn, chunk.cumulativeTsn)) return;
  const receivedTime = Date.now() / 1000;
  this.lastSackedTsn = chunk.cumulativeTsn;
  const cwndFullyUtilized = this.flightSize >= this.cwnd;
  let done = 0;
  let doneBytes = 0;

  // Cumulatively acknowledged chunks leave the sent queue.
  let head = 0;
  const queue = this.sentQueue;
  while (head < queue.length && uint32Gte(this.lastSackedTsn, (queue[head] as (typeof queue)[number]).tsn)) {
    const sChunk = queue[head++] as (typeof queue)[number];
    done++;
    if (!sChunk.acked) {
      doneBytes += sChunk.bookSize;
      this.flightSizeDecrease(sChunk);
    }
    if (done === 1 && sChunk.sentCount === 1) this.updateRto(receivedTime - (sChunk.sentTime ?? receivedTime));
  }
  if (head > 0) this.sentQueue = head === queue.length ? [] : queue.slice(head);

  let loss = false;
  if (chunk.gaps.length > 0) {
    const seen = new Set<number>();
    let highestSeenTsn = chunk.cumulativeTsn;
    for (const [start, end] of chunk.gaps) {
      for (let pos = start; pos <= end; pos++) {
        highestSeenTsn = (chunk.cumulativeTsn + pos) % TSN_MODULO;
        seen.add(highestSeenTsn);
      }
    }
    let highestNewlyAcked = chunk.cumulativeTsn;
    for (const sChunk of this.sentQueue) {
      if (uint32Gt(sChunk.tsn, highestSeenTsn)) break;
      if (seen.has(sChunk.tsn) && !sChunk.acked) {
        doneBytes += sChunk.bookSize;
        sChunk.acked = true;
        this.flightSizeDecrease(sChunk);
        highestNewlyAcked = sChunk.tsn;
      }
    }
    // HTNA: miss indications only below the highest TSN newly acked by this SACK.
    for (const sChunk of this.sentQueue) {
      if (uint32Gt(sChunk.tsn, highestNewlyAcked)) break;
      if (seen.has(sChunk.tsn) || sChunk.acked || sChunk.abandoned) continue;
      if (sChunk.retransmit) continue; // already queued for retransmission
      const fence = sChunk.sigctlFence;
      if (fence !== undefined && !uint32Gt(highestNewlyAcked, fence)) continue; // only older data was acked
      sChunk.misses++;
      if (sChunk.misses >= 3) {
        sChunk.misses = 0;
        const newest = this.sentQueue[this.sentQueue.length - 1];
        sChunk.sigctlFence = newest ? newest.tsn : sChunk.tsn;
        if (!this.maybeAbandon(sChunk)) sChunk.retransmit = true;
        this.sigctlRetransmitScan = true; // tells send-queue's transmitOnce to look
        this.flightSizeDecrease(sChunk);
        loss = true;
      }
    }
  }

  if (this.fastRecoveryExit === undefined) {
    if (done && cwndFullyUtilized) {
      if (this.cwnd <= this.ssthresh) {
        // Slow start: up to 2 MTU per SACK (RFC 3465 byte counting with L = 2), since a receiver
        // that SACKs every second packet (RFC 4960 6.2) would otherwise halve the growth rate.
        this.cwnd += Math.min(doneBytes, 2 * USERDATA_MAX_LENGTH);
      } else {
        this.partialBytesAcked += doneBytes;
        if (this.partialBytesAcked >= this.cwnd) {
          this.partialBytesAcked -= this.cwnd;
          this.cwnd += USERDATA_MAX_LENGTH;
        }
      }
    }
    if (loss) {
      this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 4 * USERDATA_MAX_LENGTH);
      this.cwnd = this.ssthresh;
      this.partialBytesAcked = 0;
      const last = this.sentQueue[this.sentQueue.length - 1];
      this.fastRecoveryExit = last ? last.tsn : chunk.cumulativeTsn;
      this.fastRecoveryTransmit = true;
    }
  } else if (uint32Gte(chunk.cumulativeTsn, this.fastRecoveryExit)) {
    this.fastRecoveryExit = undefined;
  }

  if (this.sentQueue.length === 0) this.timer3Cancel();
  else if (done > 0) this.timer3Restart();

  this.peerAdvertisedRwnd = chunk.advertisedRwnd;
  this.updateAdvancedPeerAckPoint();
  await this.onSackReceived();
  await this.transmit();
}

/** See the module comment. */
export const sackRetransmitPatch: WeriftPatch = {
  name: 'sack-retransmit',
  summary: 'a lost chunk is counted missing only by acks of data sent after its last transmission: one retransmission per loss',
  apply(internals) {
    (internals.sctpProto as { receiveSackChunk: unknown }).receiveSackChunk = receiveSackChunk;
  },
};
