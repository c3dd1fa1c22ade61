/**
 * Patch "max-burst": SCTP's Max.Burst is 10 packets, as libdatachannel configures usrsctp, not 4.
 *
 * werift 0.24.4 (sctp/src/sctp.ts, `transmitOnce`) applies RFC 9260 section 6.1 rule D by
 * capping the congestion window at `flightSize + Max.Burst * MTU` on every transmission, with
 * Max.Burst = 4 packets (2 in fast recovery). That cap interacts with how often the receiver
 * acknowledges: a SACK that acknowledges N packets lowers flightSize by N packets, and the
 * transmission it triggers may then send only 4. With a receiver that acknowledges a batch of
 * packets at once (the sack-batch patch, or any receiver descheduled for a moment) N exceeds 4,
 * so the data in flight shrinks until each SACK acknowledges about 4 packets: measured on a
 * loopback bulk transfer, 11,363 of 11,400 transmissions were stopped by the burst cap while
 * the congestion window averaged 64 KB and the data in flight after each transmission only 7 KB
 * (about six packets), i.e. the sender was window-limited by the cap, not by cwnd or the peer's
 * window. libdatachannel sets usrsctp's max burst to 10 MTUs (`usrsctp_sysctl_set_sctp_max_burst_default(10)`,
 * cwnd-based like werift's); this patch uses the same 10 packets (fast recovery keeps 2).
 *
 * Implemented in the send-queue patch's `transmitOnce`, which reads `sigctlMaxBurst` from the
 * association (werift's own method has the 4 as a literal): upstream it is that one constant.
 */
import type { WeriftPatch } from './types.js';

/** Packets one transmission may add to the data in flight (RFC 9260 section 6.1 D; libdatachannel's value). */
export const MAX_BURST_PACKETS = 10;

/** Max.Burst when the patch is not installed (werift's literal). */
export const WERIFT_MAX_BURST_PACKETS = 4;

/** See the module comment. */
export const maxBurstPatch: WeriftPatch = {
  name: 'max-burst',
  summary: `SCTP Max.Burst of ${MAX_BURST_PACKETS} packets per transmission (libdatachannel's value) instead of ${WERIFT_MAX_BURST_PACKETS}, so a SACK that acknowledges a batch of packets does not shrink the data in flight`,
  apply(internals) {
    if (!internals.installed.has('send-queue')) throw new Error('needs the send-queue patch (its transmitOnce applies the burst limit)');
    internals.sctpProto.sigctlMaxBurst = MAX_BURST_PACKETS;
  },
};
