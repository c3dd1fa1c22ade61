/**
 * A peer worker (worker_threads entry, or a child process through `sigctl bench peer-worker`) for
 * the connect and throughput scenarios. It loads the one engine asked for (engine.ts: werift
 * through the peer session API, or libdatachannel), warms it up, and runs ONE peer of each of its
 * pairs, so that the two peers of a pair never share an event loop (as two `sigctl peer`
 * processes would not):
 *
 * - role `first`: joins each pair's room and waits (`joined`), then answers; once its channel is
 *   open it receives the bulk data, echoes pings and confirms totals (peer-transfer.ts).
 * - role `newcomer`: loads and warms up at once, and on `connect` (sent when every first peer has
 *   joined) joins, offers and reports every phase; on `transfer` it sends bulk messages with
 *   backpressure for the given time, then measures RTT with timestamped pings.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import { loadEngine } from './engine.js';
import type { BenchChannel, FirstPeer, PairEngine, PairSpec } from './engine-types.js';
import { runTransfer, serveReceiver } from './peer-transfer.js';
import { urlFor } from './spread.js';
import { SampleBuffer } from './stats.js';
import { PeerWorkerSetup, ToPeerWorker, type ConnectCommand, type FromPeerWorker, type PairResult, type PairTransfer, type TransferCommand } from './peer-messages.js';

interface Pair {
  index: number;
  room: string;
  /** The newcomer's channel (sends bulk and pings), in a newcomers' worker. */
  sender: BenchChannel | undefined;
  /** The first peer, joined, in a first peers' worker. */
  first: FirstPeer | undefined;
  result: PairResult;
}

function codeOf(err: unknown): string {
  return isSigctlError(err) ? err.code : 'INTERNAL';
}

function failed(p: Pair, err: unknown): void {
  p.result = { ...p.result, ok: false, error: codeOf(err), detail: err instanceof Error ? err.message : String(err) };
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
  private readonly receivers: Array<() => void> = [];
  private engine: PairEngine | undefined;
  /** Resolves once the engine is loaded and warm (undefined: it could not be loaded, pairs failed). */
  private ready: Promise<PairEngine | undefined> | undefined;

  get role(): PeerWorkerSetup['role'] {
    return this.setup.role;
  }

  constructor(
    private readonly setup: PeerWorkerSetup,
    private readonly port: PeerWorkerPort,
  ) {
    this.pairs = setup.rooms.map((room, i) => {
      const index = setup.base + i;
      // Peer k of the run uses urls[k % n]: with two or more nodes a pair's peers sit on different nodes.
      const urls: [string, string] = [urlFor(2 * index, setup.urls), urlFor(2 * index + 1, setup.urls)];
      return { index, room, sender: undefined, first: undefined, result: emptyResult(index, room, urls) };
    });
  }

  private post(msg: FromPeerWorker, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(msg, transfer);
  }

  private spec(p: Pair): PairSpec {
    const [first, second] = p.result.urls;
    return {
      index: p.index,
      room: p.room,
      urls: [first!, second!],
      timeoutMs: this.setup.pairTimeoutMs,
      ordered: this.setup.ordered,
      bindAddress: this.setup.bindAddress,
      token: this.setup.token,
    };
  }

  /** Loads and warms the engine once; on failure every pair fails with its code (ENGINE_MISSING). */
  private load(): Promise<PairEngine | undefined> {
    this.ready ??= (async () => {
      try {
        const engine = await loadEngine(this.setup.engine);
        this.engine = engine;
        if (this.closed) return undefined;
        await engine.warmUp();
        return engine;
      } catch (err) {
        for (const p of this.pairs) failed(p, err);
        return undefined;
      }
    })();
    return this.ready;
  }

  private report(): void {
    const patches = this.engine?.patches?.();
    this.post({ type: 'connected', pairs: this.pairs.map((p) => p.result), ...(patches === undefined ? {} : { patches }) });
  }

  /** A first peers' worker: join every first peer (`joined`), then wait for their channels (`connected`). */
  async joinAll(): Promise<void> {
    const engine = await this.load();
    if (engine !== undefined) {
      await Promise.all(
        this.pairs.map(async (p) => {
          try {
            if (this.closed) throw new SigctlError('ABORTED', 'closing');
            p.first = await engine.joinFirst(this.spec(p));
          } catch (err) {
            failed(p, err);
          }
        }),
      );
    }
    this.post({ type: 'joined', pairs: this.pairs.map((p) => ({ pair: p.index, ...(p.result.error === undefined ? {} : { error: p.result.error }), ...(p.result.detail === undefined ? {} : { detail: p.result.detail }) })) });
    await Promise.all(
      this.pairs.map(async (p) => {
        if (p.first === undefined) return;
        try {
          const receiver = await p.first.open;
          this.receivers.push(serveReceiver(receiver));
          p.result = { ...p.result, ok: true };
        } catch (err) {
          failed(p, err);
        }
      }),
    );
    this.report();
  }

  /** A newcomers' worker: load and warm up at once, connect every newcomer on `connect`. */
  async connectAll(cmd: ConnectCommand): Promise<void> {
    const engine = await this.load();
    if (engine !== undefined) {
      const skip = new Set(cmd.skip);
      await Promise.all(
        this.pairs.map(async (p) => {
          try {
            if (this.closed) throw new SigctlError('ABORTED', 'closing');
            if (skip.has(p.index)) throw new SigctlError('ABORTED', 'not started: the first peer of this pair did not join');
            const pair = await engine.connectNewcomer(this.spec(p));
            p.sender = pair.sender;
            p.result = { ...p.result, ok: true, at: pair.at, candidatePair: pair.candidatePair };
          } catch (err) {
            failed(p, err);
          }
        }),
      );
    }
    this.report();
  }

  /** Warm-up starts as soon as the worker does, while the first peers join elsewhere. */
  prepare(): Promise<unknown> {
    return this.load();
  }

  async transferAll(cmd: TransferCommand): Promise<void> {
    const ready = this.pairs.filter((p) => p.sender !== undefined);
    const results = await Promise.all(
      ready.map(async (p): Promise<PairTransfer> => {
        const rtt = new SampleBuffer(cmd.pings);
        const out = await runTransfer(p.index, p.sender!, cmd, this.stop.signal, rtt);
        return { ...out, rttMs: rtt.toArray() };
      }),
    );
    this.post({ type: 'transferred', pairs: results }, results.map((r) => r.rttMs.buffer));
  }

  /** Closes every peer at once (also those still connecting); idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    for (const off of this.receivers.splice(0)) off();
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
  let queue: Promise<unknown> = Promise.resolve();
  port.onMessage((raw: unknown) => {
    const cmd = ToPeerWorker.safeParse(raw);
    if (!cmd.success) return fatal(cmd.error);
    // close does not queue behind a running connect or transfer: it ends them.
    if (cmd.data.type === 'close') worker.close().catch(fatal);
    else if (cmd.data.type === 'connect') {
      const connect = cmd.data;
      queue = queue.then(() => worker.connectAll(connect)).catch(fatal);
    }
    else {
      const transfer = cmd.data;
      queue = queue.then(() => worker.transferAll(transfer)).catch(fatal);
    }
  });
  const role = worker.role;
  queue = queue.then(() => (role === 'first' ? worker.joinAll() : worker.prepare())).catch(fatal);
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  servePeerWorker(workerData, { postMessage: (msg, transfer) => port.postMessage(msg, transfer ?? []), onMessage: (listener) => port.on('message', listener) });
}
