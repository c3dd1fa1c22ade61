/**
 * A bulk transfer over a connected data-channel pair, for the werift patch tests: `messages`
 * random messages of `size` bytes, each numbered in its first 4 bytes, sent with backpressure.
 * Resolves once the last one arrived (both waits bounded), with whether they came in order and
 * the SHA-256 of what was sent and of what was received.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createBenchPeer, type BenchChannel, type BenchPeer } from '../../bench/werift-engines.js';
import type { Cleanups } from './cleanups.js';
import { connectPair } from './werift-interop.js';
import { within } from './within.js';

export interface BulkResult {
  readonly inOrder: boolean;
  readonly sentDigest: string;
  readonly gotDigest: string;
}

export async function bulkTransfer(sender: BenchChannel, receiver: BenchChannel, messages: number, size: number): Promise<BulkResult> {
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let received = 0;
  let inOrder = true;
  const done = new Promise<void>((resolve) => {
    receiver.onMessage((message) => {
      const data = typeof message === 'string' ? Buffer.from(message) : message;
      if (data.readUInt32BE(0) !== received) inOrder = false;
      got.update(data);
      if (++received === messages) resolve();
    });
  });
  const pump = (async () => {
    for (let next = 0; next < messages; next++) {
      const msg = randomBytes(size);
      msg.writeUInt32BE(next, 0);
      sent.update(msg);
      await sender.sendWithBackpressure(msg, {});
    }
  })();
  await within(pump, 60_000, `${messages} messages sent`);
  await within(done, 60_000, `${messages} messages received (got ${received})`);
  return { inOrder, sentDigest: sent.digest('hex'), gotDigest: got.digest('hex') };
}

/**
 * Two werift bench peers in this process, connected, each with an open data channel; closed by
 * `cleanups` after the test. The werift patch tests transfer over this pair.
 */
export async function connectedWeriftPair(cleanups: Cleanups): Promise<[BenchChannel, BenchChannel]> {
  const peers = cleanups.add<BenchPeer[]>([await createBenchPeer('werift'), await createBenchPeer('werift')], (ps) => Promise.all(ps.map((p) => p.close())).catch(() => undefined));
  return connectPair(peers[0]!, peers[1]!);
}
