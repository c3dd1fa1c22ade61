/**
 * SACKs per DATA chunk and CPU per MB of a bulk transfer between two werift peers in this process
 * (issue 17, patch sack-batch). Both peers share one event loop, as in `sigctl bench throughput`.
 *
 *   node .bench-out/werift/bench/werift-sack-count.js [--without sack-batch] [--messages 600]
 *
 * Prints one JSON line: DATA chunks received, SACKs sent (counted on the SCTP association
 * prototype; a sendSack() with nothing to acknowledge is not counted), chunks per SACK, MB/s and
 * CPU ms per MB of the process (process.cpuUsage over the transfer), and the 1-minute load average.
 * The counts do not depend on machine load; MB/s and CPU per MB do.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { applyWeriftPatches, WERIFT_PATCH_NAMES } from '../src/peer/patches/index.js';
import { reachWeriftInternals } from '../src/peer/patches/reach.js';
import type { DataChunkLike, SctpLike } from '../src/peer/patches/internals.js';
import { createBenchPeer } from './werift-engines.js';

const { values: args } = parseArgs({
  options: {
    without: { type: 'string', default: '' },
    messages: { type: 'string', default: '600' },
    size: { type: 'string', default: '16384' },
  },
});
const without = args.without.split(',').filter((n) => n !== '');
const report = applyWeriftPatches({ only: WERIFT_PATCH_NAMES.filter((n) => !without.includes(n)) });
if (report.skipped.length > 0) throw new Error(`patches skipped: ${JSON.stringify(report.skipped)}`);

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

const messages = Number(args.messages);
const size = Number(args.size);
const a = await createBenchPeer('werift');
const b = await createBenchPeer('werift');
await a.accept(await b.answer(await a.offer()));
const [sender, receiver] = await Promise.all([a.channel, b.channel]);
const start = { dataChunks, sacks, cpu: process.cpuUsage(), at: performance.now() };
await new Promise<void>((resolve) => {
  let got = 0;
  receiver.onMessage(() => {
    if (++got === messages) resolve();
  });
  void (async () => {
    for (let next = 0; next < messages; next++) await sender.sendWithBackpressure(Buffer.alloc(size, next & 0xff), {});
  })();
});
const ms = performance.now() - start.at;
const cpu = process.cpuUsage(start.cpu);
const mb = (messages * size) / 1e6;
const chunks = dataChunks - start.dataChunks;
const acks = sacks - start.sacks;
console.log(
  JSON.stringify({
    without,
    messages,
    size,
    dataChunks: chunks,
    sacks: acks,
    chunksPerSack: Math.round((chunks / acks) * 100) / 100,
    mbPerSecond: Math.round((mb / (ms / 1000)) * 10) / 10,
    cpuMsPerMb: Math.round(((cpu.user + cpu.system) / 1000 / mb) * 10) / 10,
    load1: Math.round(loadavg()[0]! * 100) / 100,
  }),
);
await Promise.all([a.close(), b.close()]);
process.exit(0);
