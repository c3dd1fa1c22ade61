/**
 * Patch "sack-batch" on a real werift pair in this process: a bulk transfer arrives complete, in
 * order and unaltered (SHA-256 on both ends), and the receiver sends fewer SACKs than werift's
 * every-second-packet rule would (one per batch of packets read together). Every wait is bounded.
 */
import { describe, expect, it } from 'vitest';
import { reachWeriftInternals } from '../../src/peer/patches/reach.js';
import type { DataChunkLike, SctpLike } from '../../src/peer/patches/internals.js';
import { bulkTransfer, connectedWeriftPair } from '../helpers/bulk-transfer.js';
import { patchedWeriftSuite } from '../helpers/werift-patched.js';

const MESSAGES = 240;
const SIZE = 16 * 1024;

const cleanups = patchedWeriftSuite();

describe('sack-batch', () => {
  it('transfers 240 x 16 KiB intact and in order with fewer SACKs than one per two DATA packets', async () => {
    // Count, on the association prototype every werift SCTP shares, DATA chunks received and
    // SACKs actually sent (sendSack returns early when nothing needs acknowledging).
    const proto = reachWeriftInternals().sctpProto as unknown as Record<string, unknown>;
    const receiveDataChunk = proto.receiveDataChunk as (this: SctpLike, c: DataChunkLike) => void;
    const sendSack = proto.sendSack as (this: SctpLike) => Promise<void>;
    let dataChunks = 0;
    let sacks = 0;
    proto.receiveDataChunk = function (this: SctpLike, c: DataChunkLike): void {
      dataChunks++;
      receiveDataChunk.call(this, c);
    };
    proto.sendSack = function (this: SctpLike): Promise<void> {
      if (!this.isStopped && this.sackNeeded) sacks++;
      return sendSack.call(this);
    };
    cleanups.add(proto, (p) => {
      p.receiveDataChunk = receiveDataChunk;
      p.sendSack = sendSack;
    });

    const [sender, receiver] = await connectedWeriftPair(cleanups);

    const before = { dataChunks, sacks };
    const result = await bulkTransfer(sender, receiver, MESSAGES, SIZE);

    expect(result.inOrder).toBe(true);
    expect(result.gotDigest).toBe(result.sentDigest);
    const data = dataChunks - before.dataChunks;
    const acks = sacks - before.sacks;
    expect(data).toBeGreaterThanOrEqual(MESSAGES * Math.ceil(SIZE / 1200));
    // werift's rule (and sack-frequency's) is one SACK per two packets: data / 2.
    expect(acks).toBeGreaterThan(0);
    expect(acks).toBeLessThan(data / 2);
  });
});
