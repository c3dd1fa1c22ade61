/**
 * Groups the samples of a `perf record -g` of sigctl nodes (bench/multinode-perf.mjs, nodes run
 * with --perf-basic-prof so JavaScript frames have names) by what they were doing: each sample
 * goes to the innermost JavaScript function on its stack (sigctl's bundle, ws and Node's streams,
 * timers, @redis/client, ...) or, with none, to the native part of the event loop.
 *
 *   perf script -i /tmp/perf.data | node bench/perf-groups.mjs
 *
 * Prints one line per group: samples, share, group.
 */
import { createInterface } from 'node:readline';
import process from 'node:process';

const WRITES = /clearBuffer|writeOrBuffer|Writable\.|onwrite|handleWriteReq|writeGeneric|writev|_writeGeneric|Socket\._write|^frame$|sendFrame|doWrite|afterWrite|uncork|cork/;
const READS = /onStreamRead|readableAddChunk|socketOnData|dataMessage|receiverOnMessage|getInfo|getMask|consume|Readable\.read|maybeReadMore|getData|startLoop|getPayloadLength|slice|_copy|toString|emit|Readable\.push|addChunk|isValidUTF8|isUtf8|unmask/;

/** The group of a sample whose innermost JavaScript frame is `frame` (`JS:*name location`). */
function jsGroup(frame) {
  const [head = '', location = ''] = frame.split(' ');
  const name = head.slice(3).replace(/^[*^~]/, '');
  if (/serve-run|schemas-/.test(location)) return "sigctl's JavaScript (and the V8 built-ins it calls)";
  if (location.includes('ws/lib/sender') || WRITES.test(name)) return 'socket writes: ws, Node streams, the writev system call';
  if (location.includes('ws/lib') || READS.test(name)) return 'socket reads in ws and Node streams';
  if (/timers|task_queues|promises/.test(location)) return 'timers, microtasks';
  return 'the rest';
}

/** The group of a sample with no JavaScript frame on its stack. */
function nativeGroup(stack) {
  if (stack.some((f) => f.includes('uv__io_poll') || f.includes('epoll'))) return 'event loop outside JavaScript: epoll_wait, socket reads, the kernel';
  return 'the rest';
}

const counts = new Map();
let total = 0;
let stack = [];
const flush = () => {
  if (stack.length === 0) return;
  total++;
  const js = stack.find((f) => f.startsWith('JS:'));
  const group = js === undefined ? nativeGroup(stack) : jsGroup(js);
  counts.set(group, (counts.get(group) ?? 0) + 1);
  stack = [];
};
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') flush();
  else if (/^\s/.test(line)) {
    // "\t    addr symbol+off (dso)": keep the symbol.
    const rest = line.trim().split(' ').slice(1).join(' ');
    stack.push(rest.replace(/ \([^)]*\)$/, ''));
  } else stack = [];
}
flush();
process.stdout.write(`${total} samples\n`);
for (const [group, n] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`${String(n).padStart(6)} ${((100 * n) / total).toFixed(1).padStart(5)}% ${group}\n`);
