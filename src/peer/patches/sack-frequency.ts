/**
 * Patch "sack-frequency": SACK every second packet (RFC 4960 section 6.2), not every packet.
 *
 * Replaces (werift 0.24.4, sctp/src/sctp.ts):
 * - `SCTP.prototype.receiveDataChunk`: the original sets `sackImmediate` for every new DATA chunk
 *   (unconditionally, and again for every non-final fragment), so the receiver sends one SACK per
 *   DATA packet. Each SACK costs both processes a full DTLS encrypt/decrypt and a UDP datagram:
 *   half of all packets on the wire were SACKs.
 * - `SCTP.prototype.scheduleSack`: the original delays a non-immediate SACK by 200 ms
 *   (SCTP_SACK_DELAY_MS), which would stall a sender waiting on the last odd packet of a burst.
 *
 * After the patch a SACK is immediate for duplicates, for out-of-order chunks and the chunk that
 * closes a gap (gaps must be reported at once for fast retransmit and recovery) and on every
 * second packet carrying new data (handleData already counts those); otherwise it is sent 1 ms later, i.e. after the process has drained the
 * datagrams already queued on its socket, which batches acknowledgements of a burst without
 * delaying the sender.
 */
import type { WeriftPatch } from './types.js';
import type { DataChunkLike, SctpLike } from './internals.js';

/** Delay of a non-immediate SACK, ms (the original waits 200 ms). */
export const DELAYED_SACK_MS = 1;

/** Replaces SCTP.prototype.receiveDataChunk (sctp/src/sctp.ts). */
function receiveDataChunk(this: SctpLike, chunk: DataChunkLike): void {
  this.sackNeeded = true;
  const hadGap = this.sackMisOrdered.size > 0;
  if (this.markReceived(chunk.tsn)) {
    this.sackImmediate = true;
    return;
  }
  this.sackHasNewDataInPacket = true;
  // Immediately while there is a gap, and when this chunk closes one (the sender in fast
  // recovery is waiting for exactly this cumulative ack).
  if (hadGap || this.sackMisOrdered.size > 0) this.sackImmediate = true;
  const inbound = this.getInboundStream(chunk.streamId);
  inbound.addChunk(chunk);
  this.advertisedRwnd -= chunk.userData.length;
  for (const message of inbound.popMessages()) {
    this.advertisedRwnd += message[2].length;
    this.receive(...message);
  }
}

/** Replaces SCTP.prototype.scheduleSack (sctp/src/sctp.ts). */
async function scheduleSack(this: SctpLike): Promise<void> {
  if (this.isStopped || !this.sackNeeded) return;
  if (this.sackImmediate) {
    if (this.sackTimeout) {
      clearTimeout(this.sackTimeout);
      this.sackTimeout = undefined;
    }
    await this.sendSack();
    return;
  }
  if (this.sackTimeout) return;
  this.sackTimeout = setTimeout(() => {
    this.sackTimeout = undefined;
    this.sendSack().catch(() => undefined);
  }, DELAYED_SACK_MS);
}

/** See the module comment. */
export const sackFrequencyPatch: WeriftPatch = {
  name: 'sack-frequency',
  summary: 'the receiver SACKs every second packet (immediately on gaps/duplicates) instead of every packet',
  apply(internals) {
    const proto = internals.sctpProto as unknown as Record<string, unknown>;
    proto.receiveDataChunk = receiveDataChunk;
    proto.scheduleSack = scheduleSack;
  },
};
