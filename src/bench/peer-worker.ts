/**
 * A peer worker (worker_threads entry) for the connect and throughput scenarios. It loads the one
 * engine asked for (engine.ts: werift through the peer session API, or libdatachannel), warms it
 * up, then connects a pair of that engine's peers per room: the first joins and waits, the second
 * joins as the newcomer, offers, and reports every phase. On `transfer`, each newcomer sends bulk
 * messages with backpressure for the given time, then measures RTT with timestamped pings echoed
 * by the other peer. The transfer code is the same for every engine.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import { loadEngine } from './engine.js';
import type { BenchChannel, PairEngine } from './engine-types.js';
import { within } from './within.js';
import { urlFor } from './spread.js';
import { SampleBuffer } from './stats.js';
import { PeerWorkerSetup, ToPeerWorker, type FromPeerWorker, type PairResult, type PairTransfer, type TransferCommand } from './peer-messages.js';

interface Pair {
  index: number;
  room: string;
  /** The newcomer's channel (sends bulk and pings). */
  sender: BenchChannel | undefined;
  /** The first peer's channel (receives bulk, echoes pings). */
  receiver: BenchChannel | undefined;
  result: PairResult;
}

const PING = 'ping:';

function codeOf(err: unknown): string {
  return isSigctlError(err) ? err.code : 'INTERNAL';
}

function emptyResult(index: number, room: string, urls: [string, string]): PairResult {
  return {
    pair: index,
    room,
    urls,
    ok: false,
    at: { wsConnected: null, joined: null, offerSent: null, answerReceived: null, iceConnected: null, dtlsConnected: null, channelOpen: null },
    candidatePair: null,
  };
}

class PeerWorker {
  private readonly pairs: Pair[];
  private closed = false;
  private readonly stop = new AbortController();
  private engine: PairEngine | undefined;

  constructor(
    private readonly setup: PeerWorkerSetup,
    private readonly port: PeerWorkerPort,
  ) {
    this.pairs = setup.rooms.map((room, i) => {
      const index = setup.base + i;
      // Peer k of the run uses urls[k % n]: with two or more nodes a pair's peers sit on different nodes.
      const urls: [string, string] = [urlFor(2 * index, setup.urls), urlFor(2 * index + 1, setup.urls)];
      return { index, room, sender: undefined, receiver: undefined, result: emptyResult(index, room, urls) };
    });
  }

  private post(msg: FromPeerWorker, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(msg, transfer);
  }

  async connectAll(): Promise<void> {
    let engine: PairEngine;
    try {
      engine = await loadEngine(this.setup.engine);
    } catch (err) {
      // Every pair fails with the engine's code (ENGINE_MISSING): reported, not a worker crash.
      for (const p of this.pairs) p.result = { ...p.result, error: codeOf(err) };
      this.post({ type: 'connected', pairs: this.pairs.map((p) => p.result) });
      return;
    }
    this.engine = engine;
    if (this.closed) {
      await engine.close();
      return;
    }
    await engine.warmUp();
    await Promise.all(this.pairs.map((p) => this.connect(engine, p)));
    const patches = engine.patches?.();
    this.post({ type: 'connected', pairs: this.pairs.map((p) => p.result), ...(patches === undefined ? {} : { patches }) });
  }

  private async connect(engine: PairEngine, p: Pair): Promise<void> {
    try {
      if (this.closed) throw new SigctlError('ABORTED', 'closing');
      const [first, second] = p.result.urls;
      const pair = await engine.connectPair({
        index: p.index,
        room: p.room,
        urls: [first!, second!],
        timeoutMs: this.setup.pairTimeoutMs,
        ordered: this.setup.ordered,
        bindAddress: this.setup.bindAddress,
        token: this.setup.token,
      });
      p.sender = pair.sender;
      p.receiver = pair.receiver;
      p.result = { ...p.result, ok: true, at: pair.at, candidatePair: pair.candidatePair };
    } catch (err) {
      p.result = { ...p.result, ok: false, error: codeOf(err), detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async transferAll(cmd: TransferCommand): Promise<void> {
    const ready = this.pairs.filter((p) => p.sender !== undefined && p.receiver !== undefined);
    const results = await Promise.all(ready.map((p) => this.transfer(p, cmd)));
    this.post({ type: 'transferred', pairs: results }, results.map((r) => r.rttMs.buffer));
  }

  private async transfer(p: Pair, cmd: TransferCommand): Promise<PairTransfer> {
    const sender = p.sender!;
    const receiver = p.receiver!;
    const ordered = { sender: sender.ordered, receiver: receiver.ordered };
    const out: PairTransfer = { pair: p.index, bytes: 0, messages: 0, ms: 0, maxBufferedBytes: 0, ordered, rttMs: new Float64Array(0) };
    let lastAt = 0;
    let received = 0;
    let messages = 0;
    const offReceiver = receiver.onMessage((data) => {
      if (typeof data === 'string') {
        // Echo pings unchanged: the sender reads its own timestamp back.
        if (data.startsWith(PING) && receiver.isOpen) receiver.send(data);
        return;
      }
      received += data.byteLength;
      messages += 1;
      lastAt = performance.now();
    });
    const rtt = new SampleBuffer(cmd.pings);
    try {
      const payload = Buffer.alloc(cmd.messageSize, 0x62);
      let sent = 0;
      const start = performance.now();
      const end = start + cmd.durationMs;
      while (performance.now() < end && !this.closed) {
        await sender.sendWithBackpressure(payload, { signal: this.stop.signal });
        sent += payload.byteLength;
        if (sender.bufferedAmount > out.maxBufferedBytes) out.maxBufferedBytes = sender.bufferedAmount;
      }
      // Let what is in flight arrive (bounded): throughput counts bytes delivered, not queued.
      const drainUntil = performance.now() + 10_000;
      while (received < sent && performance.now() < drainUntil && !this.closed) await new Promise((r) => setTimeout(r, 5));
      out.bytes = received;
      out.messages = messages;
      out.ms = Math.max(0, lastAt - start);
      if (received < sent) out.error = 'TIMEOUT';
      await this.pings(sender, cmd, rtt);
    } catch (err) {
      out.error = codeOf(err);
      out.bytes = received;
      out.messages = messages;
    } finally {
      offReceiver();
    }
    out.rttMs = rtt.toArray();
    return out;
  }

  /** Sequential timestamped pings: each waits for its echo (or 1 s) before the next is sent. */
  private async pings(sender: BenchChannel, cmd: TransferCommand, rtt: SampleBuffer): Promise<void> {
    const budgetEnd = performance.now() + cmd.pingBudgetMs;
    for (let seq = 0; seq < cmd.pings && performance.now() < budgetEnd && !this.closed; seq++) {
      const tag = `${PING}${seq}:`;
      const echoed = within<number>(1_000, 'a ping echo', (resolve) =>
        sender.onMessage((data) => {
          if (typeof data === 'string' && data.startsWith(tag)) resolve(performance.now() - Number(data.slice(tag.length)));
        }),
      ).catch(() => undefined);
      sender.send(`${tag}${performance.now()}`);
      const ms = await echoed;
      if (ms !== undefined) rtt.push(ms);
    }
  }

  /** Closes every peer at once (also those still connecting); idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    await this.engine?.close();
    this.post({ type: 'closed' });
  }
}

/** The peer worker's link to the orchestrator: a worker thread's parentPort, or a child process's IPC. */
export interface PeerWorkerPort {
  postMessage(msg: FromPeerWorker, transfer?: ArrayBuffer[]): void;
  onMessage(listener: (raw: unknown) => void): void;
}

/** Runs a peer worker on `port` (the setup is validated here): connects, then obeys transfer/close. */
export function servePeerWorker(setup: unknown, port: PeerWorkerPort): void {
  const fatal = (err: unknown): void => port.postMessage({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  let worker: PeerWorker;
  try {
    worker = new PeerWorker(PeerWorkerSetup.parse(setup), port);
  } catch (err) {
    fatal(err);
    return;
  }
  let queue = Promise.resolve();
  port.onMessage((raw: unknown) => {
    const cmd = ToPeerWorker.safeParse(raw);
    if (!cmd.success) return fatal(cmd.error);
    // close does not queue behind a running connect or transfer: it ends them.
    if (cmd.data.type === 'close') worker.close().catch(fatal);
    else {
      const transfer = cmd.data;
      queue = queue.then(() => worker.transferAll(transfer)).catch(fatal);
    }
  });
  queue = queue.then(() => worker.connectAll()).catch(fatal);
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  servePeerWorker(workerData, { postMessage: (msg, transfer) => port.postMessage(msg, transfer ?? []), onMessage: (listener) => port.on('message', listener) });
}
