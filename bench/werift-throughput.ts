/**
 * Two-process loopback measurement of a data channel (issue 5).
 *
 *   node .bench-out/werift/bench/werift-throughput.js --engine werift --patches all --mode throughput
 *
 * The parent offers and sends; a forked child answers and receives. Signaling is one SDP each way
 * over the IPC channel. Prints one JSON document on stdout.
 *
 * throughput: 16 KiB messages for --seconds, the sender keeping bufferedAmount <= --max-buffered;
 *   reports MB/s (1 MB = 10^6 bytes) and CPU seconds per MB on each side (process.cpuUsage).
 * latency: --connections sequential connections, createOffer -> channel open at the offerer;
 *   the first one is also reported separately with the process uptime when it opened.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createBenchPeer } from './werift-engines.js';
import type { BenchChannel, BenchPeer, EngineName } from './werift-engines.js';
import { applyWeriftPatches, prewarmWerift, WERIFT_PATCH_NAMES } from '../src/peer/patches/index.js';

type ToChild =
  | { t: 'offer'; id: number; sdp: string }
  | { t: 'close'; id: number }
  | { t: 'expect'; id: number; bytes: number }
  | { t: 'exit' };
type ToParent =
  | { t: 'ready' }
  | { t: 'answer'; id: number; sdp: string }
  | { t: 'received'; bytes: number; messages: number; inOrder: boolean; cpuSeconds: number; complete: boolean };

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'werift' },
    patches: { type: 'string', default: 'none' },
    mode: { type: 'string', default: 'throughput' },
    seconds: { type: 'string', default: '6' },
    size: { type: 'string', default: '16384' },
    'max-buffered': { type: 'string', default: '262144' },
    connections: { type: 'string', default: '21' },
    child: { type: 'boolean', default: false },
    /** Percent of the sender's outgoing DTLS records dropped (werift only; the receiver is clean). */
    drop: { type: 'string', default: '0' },
    /** Run prewarmWerift() in both processes before the first connection (not timed). */
    prewarm: { type: 'boolean', default: false },
    /** With --prewarm: certificate only (prewarmWerift({ handshake: false })). */
    'prewarm-cert-only': { type: 'boolean', default: false },
  },
});

const engine = args.engine as EngineName;
if (engine !== 'werift' && engine !== 'node-datachannel') throw new Error(`unknown engine ${String(args.engine)}`);

function patchesFor(spec: string): readonly string[] {
  if (spec === 'none') return [];
  if (spec === 'all') return WERIFT_PATCH_NAMES;
  return spec.split(',').filter(Boolean);
}

function installPatches(): { applied: readonly string[]; skipped: readonly { name: string; reason: string }[] } {
  const names = patchesFor(args.patches);
  if (engine !== 'werift' || names.length === 0) return { applied: [], skipped: [] };
  const report = applyWeriftPatches({ only: names });
  if (report.skipped.length > 0) throw new Error(`patches skipped: ${JSON.stringify(report.skipped)}`);
  return report;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------------------------------------
// child: answers offers, receives and counts
// ------------------------------------------------------------------------------------------------
function runChild(): void {
  installPatches();
  const peers = new Map<number, BenchPeer>();
  let bytes = 0;
  let messages = 0;
  let inOrder = true;
  let cpuStart: NodeJS.CpuUsage | undefined;
  let expected: number | undefined;
  const send = (m: ToParent): void => {
    process.send?.(m);
  };
  const report = (complete: boolean): void => {
    send({ t: 'received', bytes, messages, inOrder, cpuSeconds: cpuStart ? cpuSeconds(cpuStart) : 0, complete });
    expected = undefined;
  };
  const onMessage = (m: string | Buffer): void => {
    const data = typeof m === 'string' ? Buffer.from(m) : m;
    if (!cpuStart) cpuStart = process.cpuUsage();
    if (data.length >= 4 && data.readUInt32BE(0) !== messages) inOrder = false;
    messages++;
    bytes += data.length;
    if (expected !== undefined && bytes >= expected) report(true);
  };
  process.on('message', (raw: ToChild) => {
    void (async () => {
      switch (raw.t) {
        case 'offer': {
          const peer = await createBenchPeer(engine);
          peers.set(raw.id, peer);
          void peer.channel.then((ch) => ch.onMessage(onMessage));
          send({ t: 'answer', id: raw.id, sdp: await peer.answer(raw.sdp) });
          if (peer.trace.some((t) => parseFloat(t) > 1000)) console.error(`slow answer ${raw.id}: ${peer.trace.join(', ')}`);
          break;
        }
        case 'close': {
          await peers.get(raw.id)?.close();
          peers.delete(raw.id);
          break;
        }
        case 'expect': {
          expected = raw.bytes;
          if (bytes >= raw.bytes) report(true);
          else setTimeout(() => expected !== undefined && report(false), 20_000).unref();
          break;
        }
        case 'exit': {
          for (const p of peers.values()) await p.close();
          process.disconnect();
          setTimeout(() => process.exit(0), 200).unref();
          break;
        }
      }
    })().catch((error: unknown) => {
      console.error('child error', error);
      process.exit(1);
    });
  });
  const ready = (): void => send({ t: 'ready' });
  if (args.prewarm && engine === 'werift') prewarmWerift({ handshake: !args['prewarm-cert-only'] }).then(ready, ready);
  else ready();
}

// ------------------------------------------------------------------------------------------------
// parent: offers, sends, measures
// ------------------------------------------------------------------------------------------------
class ChildLink {
  private readonly waiters: ((m: ToParent) => boolean)[] = [];
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: ToParent) => {
      const i = this.waiters.findIndex((w) => w(m));
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
  send(m: ToChild): void {
    this.proc.send(m);
  }
  wait<K extends ToParent['t']>(t: K, ms: number, match: (m: Extract<ToParent, { t: K }>) => boolean = () => true): Promise<Extract<ToParent, { t: K }>> {
    return timeout(
      new Promise((resolve) => {
        this.waiters.push((m) => {
          if (m.t !== t || !match(m as Extract<ToParent, { t: K }>)) return false;
          resolve(m as Extract<ToParent, { t: K }>);
          return true;
        });
      }),
      ms,
      `waiting for child ${t}`,
    );
  }
}

async function connect(link: ChildLink, id: number): Promise<{ peer: BenchPeer; channel: BenchChannel; ms: number }> {
  const t0 = performance.now();
  const peer = await createBenchPeer(engine, { dropPercent: Number(args.drop), maxBuffered: Number(args['max-buffered']) });
  const offer = await peer.offer();
  link.send({ t: 'offer', id, sdp: offer });
  const answer = await link.wait('answer', 10_000, (m) => m.id === id);
  await peer.accept(answer.sdp);
  const channel = await timeout(peer.channel, 10_000, 'channel open');
  return { peer, channel, ms: performance.now() - t0 };
}

/**
 * Sends for `seconds` with the channel's backpressure (bufferedAmount + a message <= --max-buffered,
 * resumed at half of it: bench/werift-engines.ts). The deadline also aborts a wait, should a stack
 * never signal bufferedAmountLow.
 */
async function pump(channel: BenchChannel, size: number, seconds: number): Promise<{ bytes: number; messages: number }> {
  let messages = 0;
  let bytes = 0;
  const deadline = performance.now() + seconds * 1000;
  const signal = AbortSignal.timeout(seconds * 1000);
  try {
    for (;;) {
      const msg = Buffer.allocUnsafe(size);
      msg.writeUInt32BE(messages, 0);
      await channel.sendWithBackpressure(msg, { signal });
      messages++;
      bytes += size;
      if ((messages & 15) === 0 && performance.now() >= deadline) break;
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  return { bytes, messages };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? NaN;
}

async function runParent(): Promise<void> {
  const patch = installPatches();
  const self = fileURLToPath(import.meta.url);
  const childArgs = ['--child', '--engine', engine, '--patches', args.patches, ...(args.prewarm ? ['--prewarm'] : []), ...(args['prewarm-cert-only'] ? ['--prewarm-cert-only'] : [])];
  const proc = fork(self, childArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const link = new ChildLink(proc);
  const base = { engine, patches: patch.applied, mode: args.mode, dropPercent: Number(args.drop), prewarm: args.prewarm ? (args['prewarm-cert-only'] ? 'certificate' : 'certificate+handshake') : false, node: process.version };
  try {
    if (args.prewarm && engine === 'werift') await prewarmWerift({ handshake: !args['prewarm-cert-only'] });
    await link.wait('ready', 15_000);
    if (args.mode === 'latency') {
      const n = Number(args.connections);
      const times: number[] = [];
      let firstUptimeMs = NaN;
      for (let id = 0; id < n; id++) {
        const c = await connect(link, id);
        if (id === 0) firstUptimeMs = process.uptime() * 1000;
        times.push(c.ms);
        if (c.ms > 1000) console.error(`slow connection ${id} (${c.ms.toFixed(0)} ms): ${c.peer.trace.join(', ')}`);
        await c.peer.close();
        link.send({ t: 'close', id });
      }
      const [first, ...warm] = times;
      const sorted = [...warm].sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          ...base,
          firstMs: first,
          firstUptimeMs,
          warm: { n: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) },
        }),
      );
    } else {
      const size = Number(args.size);
      const c = await connect(link, 0);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const sent = await pump(c.channel, size, Number(args.seconds));
      link.send({ t: 'expect', id: 0, bytes: sent.bytes });
      const got = await link.wait('received', 30_000);
      const seconds = (performance.now() - t0) / 1000;
      const senderCpu = cpuSeconds(cpu0);
      const mb = got.bytes / 1e6;
      console.log(
        JSON.stringify({
          ...base,
          messageBytes: size,
          maxBuffered: Number(args['max-buffered']),
          seconds,
          sentBytes: sent.bytes,
          receivedBytes: got.bytes,
          complete: got.complete,
          inOrder: got.inOrder,
          mbPerSecond: mb / seconds,
          senderCpuPerMb: senderCpu / mb,
          receiverCpuPerMb: got.cpuSeconds / mb,
          senderCpuBusy: senderCpu / seconds,
        }),
      );
      await c.peer.close();
    }
  } finally {
    link.send({ t: 'exit' });
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        proc.kill('SIGKILL');
        resolve();
      }, 3000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

if (args.child) runChild();
else
  runParent().then(
    () => setTimeout(() => process.exit(0), 100).unref(),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
