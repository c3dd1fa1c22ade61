// The relay hot path's own steps, in one process, without sockets: scanSignal (validate a signal
// frame and find its `data`, src/server/signal-scan.ts) and relayFrame (build the relayed frame,
// src/server/frames.ts), in ns per call on a typical 154-byte signal. The server's CPU per relayed
// message (~15-30 µs here, most of it ws and the kernel's writev) is measured by `sigctl bench
// signaling --vs-floor`; this shows what sigctl's own parsing and framing add to it.
// Usage: npm run build && node bench/relay-hot-path.mjs [calls=2000000] [rounds=5]
import { Buffer } from 'node:buffer';
import console from 'node:console';
import process from 'node:process';
import { relayFrame, signalPrefix } from '../dist/server/frames.js';
import { scanSignal } from '../dist/server/signal-scan.js';

const calls = Number(process.argv[2] ?? 2_000_000);
const rounds = Number(process.argv[3] ?? 5);
const frame = Buffer.from(JSON.stringify({ type: 'signal', to: 'abcdefghijk', id: 12345, data: { seq: 123456, t: 1234567.891, pad: 'x'.repeat(60) } }));
const prefix = signalPrefix('Zyxwvutsrqp');
const prefixBytes = Buffer.byteLength(prefix);
const scanned = scanSignal(frame);
if (scanned === undefined) throw new Error('the sample frame is not a plain signal');

/** ns per call of `fn` over `calls` calls; `sink` keeps the work from being optimised away. */
let sink = 0;
function time(fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += fn();
  return Number(process.hrtime.bigint() - t0) / calls;
}

const results = { scanSignal: [], relayFrame: [] };
for (let r = 0; r < rounds; r++) {
  results.scanSignal.push(time(() => scanSignal(frame).dataEnd));
  results.relayFrame.push(time(() => relayFrame(prefix, prefixBytes, frame, scanned.dataStart, scanned.dataEnd).length));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`node ${process.version}; a ${frame.length}-byte signal; ${calls} calls x ${rounds} rounds; median ns per call (rounds in order):`);
for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(10)} ${median(xs).toFixed(0).padStart(5)} ns  (${xs.map((x) => x.toFixed(0)).join(' ')})`);
if (sink === 0) console.log('');
