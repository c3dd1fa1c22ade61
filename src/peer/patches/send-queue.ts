/**
 * Patch "send-queue": no quadratic wait in send, and bufferedAmount that falls as data is sent.
 *
 * Replaces (werift 0.24.4, lib/index.mjs):
 * - `RTCSctpTransport.prototype.dataChannelFlush` (webrtc/src/transport/sctp.ts). The original
 *   awaits `SCTP.send()` per message, and `SCTP.send()` (an instance arrow in sctp/src/sctp.ts)
 *   then waits on the `flush` event until the WHOLE outbound queue is empty. Every
 *   `RTCDataChannel.send()` starts another flush loop, so with K messages queued each flush wakes K
 *   waiters, each unsubscribing by filtering the listener array (O(K^2) per drain), and a
 *   message's bytes leave bufferedAmount only when everything queued after it has gone too.
 * - `SCTP.prototype.transmitOnce` (sctp/src/sctp.ts). The original awaits every packet send and
 *   retransmits chunks that T3 expiry marked even when the peer had already gap-acknowledged them.
 *
 * After the patch, flushing queues a message's DATA chunks synchronously and kicks `transmit()`;
 * each chunk carries its channel and byte count, released from bufferedAmount when the chunk is
 * first put on the wire. Also fixed on the way, because they live in the replaced code:
 * - an empty message is sent as PPID 56/57 with one zero byte (RFC 8831 section 6.6); the
 *   original queued zero fragments but still consumed a stream sequence number, blocking an
 *   ordered channel forever;
 * - `maxPacketLifeTime` expiry is computed in seconds like `maybeAbandon()` compares it (the
 *   original added seconds to Date.now() milliseconds, so such messages never expired).
 */
import { RTCSctpTransport } from 'werift';
import type { WeriftPatch } from './types.js';
import type { WeriftInternals } from './reach.js';
import type { ChannelLike, DataChunkLike, SctpLike } from './internals.js';

const ESTABLISHED = 4;
const USERDATA_MAX_LENGTH = 1200;
const SCTP_DATA_LAST_FRAG = 1;
const SCTP_DATA_FIRST_FRAG = 2;
const SCTP_DATA_UNORDERED = 4;
const WEBRTC_DCEP = 50;
const WEBRTC_STRING = 51;
const WEBRTC_BINARY = 53;
const WEBRTC_STRING_EMPTY = 56;
const WEBRTC_BINARY_EMPTY = 57;

interface SctpTransportLike {
  sctp: SctpLike;
  dataChannelQueue: [ChannelLike, number, Buffer][];
  dataChannels: Record<number, ChannelLike>;
  dataChannelId: number;
}

interface SendOptions {
  readonly ordered: boolean;
  readonly expiry: number | undefined;
  readonly maxRetransmits: number | undefined;
}

/** Splits one message into DATA chunks on the association's outbound queue (SCTP.send without the wait). */
function enqueueMessage(
  internals: WeriftInternals,
  sctp: SctpLike,
  streamId: number,
  ppId: number,
  userData: Buffer,
  options: SendOptions,
  channel: ChannelLike | undefined,
  countsAsBuffered: boolean,
): void {
  const streamSeqNum = options.ordered ? (sctp.outboundStreamSeq[streamId] ?? 0) : 0;
  const fragments = Math.ceil(userData.length / USERDATA_MAX_LENGTH);
  for (let fragment = 0, pos = 0; fragment < fragments; fragment++, pos += USERDATA_MAX_LENGTH) {
    const chunk = new internals.DataChunk(0, undefined);
    let flags = options.ordered ? 0 : SCTP_DATA_UNORDERED;
    if (fragment === 0) flags |= SCTP_DATA_FIRST_FRAG;
    if (fragment === fragments - 1) flags |= SCTP_DATA_LAST_FRAG;
    chunk.flags = flags;
    chunk.tsn = sctp.localTsn;
    chunk.streamId = streamId;
    chunk.streamSeqNum = streamSeqNum;
    chunk.protocol = ppId;
    chunk.userData = userData.subarray(pos, pos + USERDATA_MAX_LENGTH);
    chunk.bookSize = chunk.userData.length;
    chunk.expiry = options.expiry;
    chunk.maxRetransmits = options.maxRetransmits;
    chunk.sigctlChannel = countsAsBuffered ? channel : undefined;
    chunk.sigctlBuffered = countsAsBuffered ? chunk.userData.length : 0;
    sctp.localTsn = (sctp.localTsn + 1) % 2 ** 32;
    sctp.outboundQueue.push(chunk);
  }
  if (options.ordered) sctp.outboundStreamSeq[streamId] = (streamSeqNum + 1) & 0xffff;
}

function makeDataChannelFlush(internals: WeriftInternals) {
  /** Replaces RTCSctpTransport.prototype.dataChannelFlush (webrtc/src/transport/sctp.ts). */
  return function dataChannelFlush(this: SctpTransportLike): Promise<void> {
    const sctp = this.sctp;
    if (sctp.associationState !== ESTABLISHED) return Promise.resolve();
    let queued = false;
    for (let item = this.dataChannelQueue.shift(); item; item = this.dataChannelQueue.shift()) {
      const [channel, protocol, data] = item;
      let streamId = channel.id;
      if (streamId === undefined) {
        streamId = this.dataChannelId;
        while (this.dataChannels[streamId] !== undefined) streamId += 2;
        this.dataChannels[streamId] = channel;
        channel.setId(streamId);
      }
      if (protocol === WEBRTC_DCEP) {
        enqueueMessage(internals, sctp, streamId, protocol, data, { ordered: true, expiry: undefined, maxRetransmits: undefined }, channel, false);
      } else {
        const lifetime = channel.maxPacketLifeTime;
        const options: SendOptions = {
          ordered: channel.ordered,
          expiry: lifetime !== null ? Date.now() / 1000 + lifetime / 1000 : undefined,
          maxRetransmits: channel.maxRetransmits ?? undefined,
        };
        if (data.length === 0) {
          const ppId = protocol === WEBRTC_STRING ? WEBRTC_STRING_EMPTY : protocol === WEBRTC_BINARY ? WEBRTC_BINARY_EMPTY : protocol;
          enqueueMessage(internals, sctp, streamId, ppId, Buffer.alloc(1), options, channel, false);
        } else {
          enqueueMessage(internals, sctp, streamId, protocol, data, options, channel, true);
        }
      }
      queued = true;
    }
    if (queued) sctp.transmit().catch(() => undefined);
    return Promise.resolve();
  };
}

/** Replaces SCTP.prototype.transmitOnce (sctp/src/sctp.ts). */
function makeTransmitOnce(internals: WeriftInternals) {
  return async function transmitOnce(this: SctpLike): Promise<void> {
    if (this.isStopped) return;
    if (this.forwardTsnChunk) {
      await this.sendChunk(this.forwardTsnChunk).catch(() => undefined);
      this.forwardTsnChunk = undefined;
      if (!this.timer3Handle) this.timer3Start();
    }
    // RFC 9260 6.1 D; Max.Burst is 4 packets in werift, sigctlMaxBurst with the max-burst patch.
    const burstSize = (this.fastRecoveryExit !== undefined ? 2 : (this.sigctlMaxBurst ?? 4)) * USERDATA_MAX_LENGTH;
    const cwnd = Math.min(this.flightSize + burstSize, this.cwnd);

    // Retransmissions first (RFC 4960 6.1 C). Chunks the peer gap-acked or that were abandoned are
    // not retransmitted even if T3 expiry marked them. The scan of the whole sent queue (up to cwnd
    // worth of chunks, on every call) is skipped when nothing can be marked: marks come only from
    // T3 expiry (wrapped below) and from receiveSackChunk, which flags them when sack-retransmit is
    // installed; with werift's own receiveSackChunk we always scan.
    if (this.sigctlRetransmitScan !== false || !internals.installed.has('sack-retransmit')) {
      let retransmitEarliest = true;
      let complete = true;
      for (const chunk of this.sentQueue) {
        if (chunk.retransmit) {
          if (chunk.acked || chunk.abandoned) {
            chunk.retransmit = false;
            continue;
          }
          if (this.fastRecoveryTransmit) this.fastRecoveryTransmit = false;
          else if (this.flightSize >= cwnd) {
            complete = false;
            break;
          }
          this.flightSizeIncrease(chunk);
          chunk.misses = 0;
          chunk.retransmit = false;
          chunk.sentCount++;
          // Every layer below runs synchronously up to the socket, so not awaiting keeps packet order.
          this.sendChunk(chunk).catch(() => undefined);
          if (retransmitEarliest) this.timer3Restart();
        }
        retransmitEarliest = false;
      }
      this.sigctlRetransmitScan = !complete;
    }

    const now = Date.now() / 1000;
    while (this.outboundQueue.length > 0 && this.flightSize < cwnd && this.peerRwnd > 0) {
      const chunk = this.outboundQueue[0] as DataChunkLike;
      if (chunk.bookSize > this.peerRwnd && this.flightSize > 0) break;
      this.outboundQueue.shift();
      this.sentQueue.push(chunk);
      this.flightSizeIncrease(chunk);
      chunk.sentCount++;
      chunk.sentTime = now;
      this.sendChunk(chunk).catch(() => undefined);
      if (!this.timer3Handle) this.timer3Start();
      const channel = chunk.sigctlChannel;
      if (channel) {
        chunk.sigctlChannel = undefined;
        // May run the application's bufferedamountlow handler, which may queue more chunks.
        channel.addBufferedAmount(-(chunk.sigctlBuffered ?? 0));
      }
    }
    this.flush.execute();
  };
}

/** Makes T3 expiry (an instance arrow in werift) request a scan of the sent queue. */
function watchT3(sctp: SctpLike): void {
  const expired = sctp.timer3Expired;
  sctp.timer3Expired = () => {
    sctp.sigctlRetransmitScan = true;
    expired();
  };
}

/** See the module comment. */
export const sendQueuePatch: WeriftPatch = {
  name: 'send-queue',
  summary: 'send() queues without waiting for the whole queue to drain; bufferedAmount falls as chunks are sent; empty messages and maxPacketLifeTime work',
  apply(internals) {
    type TransportThis = { sctp?: SctpLike };
    const proto = RTCSctpTransport.prototype as unknown as { dataChannelFlush: unknown; setDtlsTransport: (this: TransportThis, dtls: unknown) => void };
    proto.dataChannelFlush = makeDataChannelFlush(internals);
    (internals.sctpProto as { transmitOnce: unknown }).transmitOnce = makeTransmitOnce(internals);
    const setDtlsTransport = proto.setDtlsTransport;
    proto.setDtlsTransport = function (this: TransportThis, dtls: unknown): void {
      const before = this.sctp;
      setDtlsTransport.call(this, dtls);
      if (this.sctp && this.sctp !== before) watchT3(this.sctp);
    };
  },
};
