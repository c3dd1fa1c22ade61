/**
 * A peer worker (worker_threads entry) for the connect and throughput scenarios: werift is warmed
 * up first (prewarmWerift), then for each room it runs a pair of werift peers through the peer session API (src/peer), never its own negotiation.
 * The first peer joins and waits; the second joins as the newcomer, offers, and reports every
 * phase. On `transfer`, each newcomer sends bulk messages with backpressure on bufferedAmount for
 * the given time, then measures RTT with timestamped pings echoed by the other peer.
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import { createPeerSession, type PeerChannel, type PeerConnected, type PeerSession } from '../peer/index.js';
import { prewarmWerift } from '../peer/patches/index.js';
import { urlFor } from './spread.js';
import { SampleBuffer } from './stats.js';
import { PeerWorkerSetup, ToPeerWorker, type FromPeerWorker, type PairResult, type PairTransfer, type TransferCommand } from './peer-messages.js';

interface Pair {
  index: number;
  room: string;
  first: PeerSession | undefined;
  second: PeerSession | undefined;
  /** The newcomer's channel (sends bulk and pings). */
  sender: PeerChannel | undefined;
  /** The first peer's channel (receives bulk, echoes pings). */
  receiver: PeerChannel | undefined;
  result: PairResult;
}

const PING = 'ping:';

function codeOf(err: unknown): string {
  return isSigctlError(err) ? err.code : 'INTERNAL';
}

/** Runs `start` (which subscribes and returns its unsubscribe); rejects with TIMEOUT after `ms`. */
function within<T>(ms: number, what: string, start: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: () => void = () => undefined;
    const timer = setTimeout(() => {
      cleanup();
      reject(new SigctlError('TIMEOUT', `${what} did not happen within ${ms} ms`));
    }, ms);
    cleanup = start(
      (v) => {
        clearTimeout(timer);
        cleanup();
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        cleanup();
        reject(e);
      },
    );
  });
}

function emptyResult(index: number, room: string, urls: string[]): PairResult {
  return {
    pair: index,
    room,
    urls,
    ok: false,
    at: { wsConnected: null, joined: null, offerSent: null, answerReceived: null, iceConnected: null, dtlsConnected: null, channelOpen: null },
    candidatePair: null,
  };
}

function phasesOf(report: PeerConnected): PairResult['at'] {
  const t0 = report.session.startedAt;
  const rel = (t: number | undefined): number | null => (t === undefined || t === 0 ? null : t - t0);
  return {
    wsConnected: rel(report.session.wsConnectedAt),
    joined: rel(report.session.joinedAt),
    offerSent: rel(report.phases['offer-sent']),
    answerReceived: rel(report.phases['answer-received']),
    iceConnected: rel(report.phases['ice-connected']),
    dtlsConnected: rel(report.phases['dtls-connected']),
    channelOpen: rel(report.phases['channel-open']),
  };
}

class PeerWorker {
  private readonly pairs: Pair[];
  private closed = false;
  private readonly stop = new AbortController();
  private readonly sessions = new Set<PeerSession>();

  constructor(
    private readonly setup: PeerWorkerSetup,
    private readonly port: MessagePort,
  ) {
    this.pairs = setup.rooms.map((room, i) => ({
      index: setup.base + i,
      room,
      first: undefined,
      second: undefined,
      sender: undefined,
      receiver: undefined,
      result: emptyResult(setup.base + i, room, [urlFor(2 * (setup.base + i), setup.urls), urlFor(2 * (setup.base + i) + 1, setup.urls)]),
    }));
  }

  private post(msg: FromPeerWorker, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(msg, transfer);
  }

  private session(url: string, room: string, name: string): PeerSession {
    if (this.closed) throw new SigctlError('ABORTED', 'closing');
    const session = createPeerSession({
      url,
      room,
      name,
      capacity: 2,
      reconnect: false,
      maxRestarts: 0,
      // No keepalive pings on the measured channel: the bench owns every message on it.
      keepaliveMs: 0,
      ordered: this.setup.ordered,
      iceTimeoutMs: this.setup.pairTimeoutMs,
      connectTimeoutMs: this.setup.pairTimeoutMs,
      ...(this.setup.bindAddress === undefined ? {} : { bindAddress: this.setup.bindAddress }),
      ...(this.setup.token === undefined ? {} : { token: this.setup.token, tokenIn: 'header' as const }),
    });
    this.sessions.add(session);
    return session;
  }

  async connectAll(): Promise<void> {
    // A fresh worker would otherwise charge its first pairs for werift's certificate generation and
    // JIT warm-up: a cost of this bench's worker, not of the deployment under test.
    await prewarmWerift({ handshake: true, timeoutMs: 5_000 }).catch(() => false);
    await Promise.all(this.pairs.map((p) => this.connect(p)));
    this.post({ type: 'connected', pairs: this.pairs.map((p) => p.result) });
  }

  private async connect(p: Pair): Promise<void> {
    try {
      const deadline = this.setup.pairTimeoutMs;
      p.first = this.session(p.result.urls[0]!, p.room, `a${p.index}`);
      const first = p.first;
      const receiverOpen = within<PeerChannel>(deadline, 'the first peer\'s channel', (resolve) => first.on('channel-open', ({ channel }) => resolve(channel)));
      // Awaited below; until then a rejection (the pair failed earlier) must not go unhandled.
      receiverOpen.catch(() => undefined);
      await first.start();
      if (this.closed) return;
      p.second = this.session(p.result.urls[1]!, p.room, `b${p.index}`);
      const second = p.second;
      const connected = within<{ report: PeerConnected; channel: PeerChannel }>(deadline, 'the pair\'s data channel', (resolve, reject) => {
        let channel: PeerChannel | undefined;
        let report: PeerConnected | undefined;
        const check = (): void => {
          if (channel !== undefined && report !== undefined) resolve({ report, channel });
        };
        const offs = [
          second.on('channel-open', (e) => {
            channel = e.channel;
            check();
          }),
          second.on('peer-connected', (r) => {
            report = r;
            check();
          }),
          second.on('peer-failed', ({ error }) => reject(error)),
          second.on('closed', ({ error }) => reject(error ?? new SigctlError('CONNECTION_LOST', 'session closed'))),
        ];
        return () => offs.forEach((off) => off());
      });
      connected.catch(() => undefined);
      await second.start();
      const [{ report, channel }, receiver] = await Promise.all([connected, receiverOpen]);
      p.sender = channel;
      p.receiver = receiver;
      p.result = { ...p.result, ok: true, at: phasesOf(report), candidatePair: report.pair === undefined ? null : `${report.pair.local}/${report.pair.remote} (${report.pair.type})` };
    } catch (err) {
      p.result = { ...p.result, ok: false, error: codeOf(err) };
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
    const ordered = { sender: sender.raw.ordered, receiver: receiver.raw.ordered };
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
  private async pings(sender: PeerChannel, cmd: TransferCommand, rtt: SampleBuffer): Promise<void> {
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

  stopNow(): void {
    this.closed = true;
    this.stop.abort();
  }

  /** Closes every session at once (also those still connecting); idempotent. */
  async close(): Promise<void> {
    this.stopNow();
    await Promise.all([...this.sessions].map((s) => Promise.race([s.close(), new Promise((r) => setTimeout(r, 5_000))])));
    this.post({ type: 'closed' });
  }
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const worker = new PeerWorker(PeerWorkerSetup.parse(workerData), port);
  let queue = Promise.resolve();
  const fatal = (err: unknown): void => port.postMessage({ type: 'fatal', message: err instanceof Error ? err.message : String(err) } satisfies FromPeerWorker);
  port.on('message', (raw: unknown) => {
    const cmd = ToPeerWorker.parse(raw);
    // close does not queue behind a running connect or transfer: it ends them.
    if (cmd.type === 'close') worker.close().catch(fatal);
    else queue = queue.then(() => worker.transferAll(cmd)).catch(fatal);
  });
  queue = queue.then(() => worker.connectAll()).catch(fatal);
}
