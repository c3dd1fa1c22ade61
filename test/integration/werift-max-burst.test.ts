/**
 * Patch "max-burst" on a real werift pair in this process: a bulk transfer arrives complete, in
 * order and unaltered (SHA-256 on both ends), and single transmissions put more than werift's 4
 * packets in flight, never more than the patch's 10 (RFC 9260 section 6.1 D). Every wait is bounded.
 */
import { describe, expect, it } from 'vitest';
import { MAX_BURST_PACKETS, WERIFT_MAX_BURST_PACKETS } from '../../src/peer/patches/max-burst.js';
import { reachWeriftInternals } from '../../src/peer/patches/reach.js';
import type { SctpLike } from '../../src/peer/patches/internals.js';
import { bulkTransfer, connectedWeriftPair } from '../helpers/bulk-transfer.js';
import { patchedWeriftSuite } from '../helpers/werift-patched.js';

const MESSAGES = 240;
const SIZE = 16 * 1024;

const cleanups = patchedWeriftSuite();

describe('max-burst', () => {
  it('sends bursts of more than 4 packets and no more than 10 (+ a short fragment), and 240 x 16 KiB arrive intact and in order', async () => {
    // send-queue's transmitOnce puts every new chunk on the wire before its first await, so the
    // growth of the sent queue across the synchronous part of one call is that call's burst (in
    // packets: one DATA chunk each).
    const proto = reachWeriftInternals().sctpProto as unknown as Record<string, unknown>;
    const transmitOnce = proto.transmitOnce as (this: SctpLike) => Promise<void>;
    const bursts: number[] = [];
    proto.transmitOnce = function (this: SctpLike): Promise<void> {
      const before = this.sentQueue.length;
      const recovering = this.fastRecoveryExit !== undefined;
      const p = transmitOnce.call(this);
      if (!recovering) bursts.push(this.sentQueue.length - before);
      return p;
    };
    cleanups.add(transmitOnce, (original) => {
      proto.transmitOnce = original;
    });

    const [sender, receiver] = await connectedWeriftPair(cleanups);

    bursts.length = 0;
    const result = await bulkTransfer(sender, receiver, MESSAGES, SIZE);

    expect(result.inOrder).toBe(true);
    expect(result.gotDigest).toBe(result.sentDigest);
    expect(Math.max(...bursts)).toBeGreaterThan(WERIFT_MAX_BURST_PACKETS);
    // The cap is in bytes (Max.Burst x 1200) and a chunk may start while the flight is below it: a
    // message's short last fragment (16384 = 13 x 1200 + 784) leaves room for one more.
    expect(Math.max(...bursts)).toBeLessThanOrEqual(MAX_BURST_PACKETS + 1);
  });

  it('is skipped, with the reason, when send-queue (which applies the limit) is not installed', async () => {
    const { maxBurstPatch } = await import('../../src/peer/patches/max-burst.js');
    const internals = { ...reachWeriftInternals(), installed: new Set<string>() };
    expect(() => maxBurstPatch.apply(internals)).toThrow(/needs the send-queue patch/);
  });
});
