/**
 * Patch "sctp-packet": build and check SCTP packets without intermediate copies.
 *
 * Replaces (werift 0.24.4, sctp/src/sctp.ts):
 * - `SCTP.prototype.sendChunk`: the original serialises through `DataChunk.bytes` (two
 *   Buffer.concat calls, plus an array of one-byte buffers for padding) and `serializePacket()`
 *   in sctp/src/packet.ts (two more Buffer.concat calls, the CRC32c computed over a concatenated
 *   copy): five allocations and four copies of every 1.2 KB payload.
 * - `SCTP.prototype.handleData`: the original `parsePacket()` concatenates a copy of the whole
 *   packet to compute its CRC32c, and counts INIT chunks with an array filter.
 *
 * After the patch a DATA packet is one allocation and one payload copy, with the CRC32c
 * (RFC 4960 appendix B, werift's own exported `crc32c`) computed in place; the receive path
 * checks the CRC over the three slices with a chained CRC, no copy. Packets holding any chunk other
 * than DATA or SACK still go through the original handleData(). A packet with a bad checksum is
 * dropped silently (RFC 4960 section 6.8) instead of throwing from an un-awaited async handler.
 */
import { crc32c } from 'werift';
import type { WeriftPatch } from './types.js';
import type { WeriftInternals } from './reach.js';
import type { ChunkLike, DataChunkLike, SctpLike } from './internals.js';

const DATA = 0;
const SACK = 3;
const ZERO4 = Buffer.alloc(4);

/** One SCTP packet holding one chunk: common header, chunk, padding, CRC32c in place. */
export function serializeSctpPacket(sourcePort: number, destinationPort: number, verificationTag: number, chunk: ChunkLike): Buffer {
  let packet: Buffer;
  if (chunk.type === DATA) {
    const data = chunk as DataChunkLike;
    const length = 16 + data.userData.length;
    const padded = (length + 3) & ~3;
    packet = Buffer.allocUnsafe(12 + padded);
    packet[12] = DATA;
    packet[13] = data.flags;
    packet.writeUInt16BE(length, 14);
    packet.writeUInt32BE(data.tsn, 16);
    packet.writeUInt16BE(data.streamId, 20);
    packet.writeUInt16BE(data.streamSeqNum, 22);
    packet.writeUInt32BE(data.protocol, 24);
    data.userData.copy(packet, 28);
    packet.fill(0, 12 + length);
  } else {
    const body = chunk.bytes;
    packet = Buffer.allocUnsafe(12 + body.length);
    body.copy(packet, 12);
  }
  packet.writeUInt16BE(sourcePort, 0);
  packet.writeUInt16BE(destinationPort, 2);
  packet.writeUInt32BE(verificationTag, 4);
  packet.writeUInt32LE(0, 8);
  packet.writeUInt32LE(crc32c(packet), 8);
  return packet;
}

/** True when the packet's CRC32c (computed with the checksum field as zero) matches. */
export function sctpChecksumOk(data: Buffer): boolean {
  let crc = crc32c(data.subarray(0, 8));
  crc = crc32c(ZERO4, crc);
  crc = crc32c(data.subarray(12), crc);
  return crc === data.readUInt32LE(8);
}

/** Replaces SCTP.prototype.sendChunk (sctp/src/sctp.ts). */
async function sendChunk(this: SctpLike, chunk: ChunkLike): Promise<void> {
  if (this.state === 'closed') return;
  if (this.remotePort === undefined) throw new Error('invalid remote port');
  await this.transport.send(serializeSctpPacket(this.localPort, this.remotePort, this.remoteVerificationTag, chunk));
}

function makeHandleData(internals: WeriftInternals, original: (this: SctpLike, data: Buffer) => Promise<void>) {
  /** Replaces SCTP.prototype.handleData (sctp/src/sctp.ts) for packets of DATA and SACK chunks. */
  return async function handleData(this: SctpLike, data: Buffer): Promise<void> {
    if (this.isStopped) return;
    // Malformed packets are dropped (RFC 4960 section 6.8); werift threw from this async handler,
    // an unhandled rejection.
    if (data.length < 12) return;
    // Only DATA/SACK packets take the fast path; anything else (INIT, COOKIE, RECONFIG, ...) keeps
    // werift's own parser and handling.
    const chunks: ChunkLike[] = [];
    for (let pos = 12; pos + 4 <= data.length; ) {
      const type = data[pos] as number;
      const length = data.readUInt16BE(pos + 2);
      if ((type !== DATA && type !== SACK) || length < 4) return original.call(this, data);
      const flags = data[pos + 1] as number;
      const body = data.subarray(pos + 4, pos + length);
      chunks.push(type === DATA ? new internals.DataChunk(flags, body) : new internals.SackChunk(flags, body));
      pos += (length + 3) & ~3;
    }
    if (!sctpChecksumOk(data)) return;
    if (data.readUInt32BE(4) !== this.localVerificationTag) return;
    this.sackHasNewDataInPacket = false;
    for (const chunk of chunks) await this.receiveChunk(chunk);
    if (this.sackNeeded) {
      if (this.sackHasNewDataInPacket) this.sackPacketCount++;
      if (this.sackPacketCount >= 2) this.sackImmediate = true;
      await this.scheduleSack();
    }
  };
}

/** See the module comment. */
export const sctpPacketPatch: WeriftPatch = {
  name: 'sctp-packet',
  summary: 'SCTP packets are built in one buffer with the CRC32c computed in place, and checked without copying',
  apply(internals) {
    const proto = internals.sctpProto as unknown as Record<string, unknown>;
    const original = proto.handleData as (this: SctpLike, data: Buffer) => Promise<void>;
    proto.sendChunk = sendChunk;
    proto.handleData = makeHandleData(internals, original);
  },
};
