/**
 * The libdatachannel engine (npm node-datachannel, an optional dependency): the same pair, through
 * the same signaling server, with libdatachannel peers, so `sigctl bench throughput --engine
 * node-datachannel` puts both stacks side by side on one deployment. Each peer is a SignalClient
 * (src/client) plus a libdatachannel PeerConnection; signals use the peer session's payloads
 * (`{description}` and trickled `{candidate}`, see src/peer/link-types.ts). Loaded only inside a
 * peer worker; the native module loads on first use.
 *
 * Phases on the newcomer (it offers): ws connected, joined, offer sent (local description),
 * answer received, ICE connected (ICE state connected/completed), DTLS connected (peer connection
 * state connected: libdatachannel reports it after the DTLS handshake), channel open.
 */
import { performance } from 'node:perf_hooks';
import type * as Ndc from 'node-datachannel';
import { z } from 'zod';
import { SignalClient } from '../client/signal-client.js';
import { DEFAULT_HIGH_WATER_MARK, MAX_MESSAGE_BYTES } from '../peer/channel.js';
import { SigctlError } from '../protocol/errors.js';
import type { BenchChannel, ConnectedNewcomer, FirstPeer, PairEngine, PairSpec } from './engine-types.js';
import { within } from './within.js';
import type { PairResult } from './peer-messages.js';

type NdcModule = typeof Ndc;
type NdcPeerConnection = InstanceType<NdcModule['PeerConnection']>;
type NdcDataChannel = ReturnType<NdcPeerConnection['createDataChannel']>;

/** The signal payloads this engine reads (the peer session's shapes), validated, never cast. */
const Payload = z.union([
  z.object({ description: z.object({ type: z.enum(['offer', 'answer']), sdp: z.string() }) }),
  z.object({ candidate: z.object({ candidate: z.string(), sdpMid: z.string().nullish() }).nullable() }),
]);

/** A libdatachannel channel as a BenchChannel: one native callback each, fanned out in JS. */
class NdcChannel implements BenchChannel {
  private readonly listeners = new Set<(data: string | Buffer) => void>();
  private readonly lowWaiters = new Set<() => void>();
  private closedFlag = false;

  constructor(
    private readonly dc: NdcDataChannel,
    readonly ordered: boolean,
  ) {
    dc.onMessage((msg) => {
      const data = typeof msg === 'string' ? msg : Buffer.isBuffer(msg) ? msg : Buffer.from(msg);
      for (const l of [...this.listeners]) l(data);
    });
    dc.setBufferedAmountLowThreshold(Math.floor(DEFAULT_HIGH_WATER_MARK / 2));
    dc.onBufferedAmountLow(() => this.wake());
    dc.onClosed(() => {
      this.closedFlag = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of [...this.lowWaiters]) w();
  }

  get isOpen(): boolean {
    return !this.closedFlag && this.dc.isOpen();
  }

  get bufferedAmount(): number {
    return this.closedFlag ? 0 : this.dc.bufferedAmount();
  }

  send(data: string | Buffer): void {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (size === 0 || size > MAX_MESSAGE_BYTES) throw new SigctlError('USAGE', `data-channel message of ${size} bytes (1 to ${MAX_MESSAGE_BYTES})`);
    if (!this.isOpen) throw new SigctlError('CONNECTION_LOST', 'data channel is not open');
    const ok = typeof data === 'string' ? this.dc.sendMessage(data) : this.dc.sendMessageBinary(data);
    if (!ok && !this.isOpen) throw new SigctlError('CONNECTION_LOST', 'data channel closed while sending');
  }

  async sendWithBackpressure(data: Buffer, options: { signal?: AbortSignal }): Promise<void> {
    if (this.bufferedAmount > DEFAULT_HIGH_WATER_MARK) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: SigctlError): void => {
          this.lowWaiters.delete(check);
          options.signal?.removeEventListener('abort', onAbort);
          if (err === undefined) resolve();
          else reject(err);
        };
        const check = (): void => {
          if (!this.isOpen) done(new SigctlError('CONNECTION_LOST', 'data channel closed while sending'));
          else if (this.bufferedAmount <= DEFAULT_HIGH_WATER_MARK / 2) done();
        };
        const onAbort = (): void => done(new SigctlError('ABORTED', 'aborted while waiting for the data channel to drain'));
        this.lowWaiters.add(check);
        if (options.signal?.aborted === true) onAbort();
        else options.signal?.addEventListener('abort', onAbort, { once: true });
        // The threshold may have been crossed between the check above and subscribing.
        check();
      });
    }
    this.send(data);
  }

  onMessage(listener: (data: string | Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    if (!this.closedFlag) this.dc.close();
    this.closedFlag = true;
    this.wake();
  }
}

/** Timestamps of one peer (performance.now() ms). */
interface Marks {
  start: number;
  wsConnected?: number;
  joined?: number;
  offerSent?: number;
  answerReceived?: number;
  iceConnected?: number;
  dtlsConnected?: number;
  channelOpen?: number;
}

/** One libdatachannel peer: a signaling client and, once there is a remote member, a peer connection. */
class NdcPeer {
  readonly client: SignalClient;
  readonly marks: Marks = { start: performance.now() };
  pc: NdcPeerConnection | undefined;
  channel: NdcChannel | undefined;
  private remote: string | undefined;
  private remoteSet = false;
  /** The newcomer offers; it holds its own candidates until its ICE connects (see onLocalCandidate). */
  private offerer = false;
  private readonly heldCandidates: unknown[] = [];
  private candidatesReleased = false;
  private releaseTimer: NodeJS.Timeout | undefined;
  private readonly pendingCandidates: Array<{ candidate: string; mid: string }> = [];
  /** Remote candidates libdatachannel refused (ICE went on with the others). */
  private refusedCandidates = 0;
  private remoteCandidates = 0;
  /** State changes as they happened (`ice:checking`, `pc:connected`, ...), for failure messages. */
  private readonly trail: string[] = [];
  private readonly waiters = new Set<(err?: Error) => void>();
  failure: Error | undefined;

  constructor(
    private readonly ndc: NdcModule,
    url: string,
    private readonly spec: PairSpec,
    private readonly name: string,
  ) {
    this.client = new SignalClient({
      url,
      reconnect: false,
      connectTimeoutMs: spec.timeoutMs,
      ...(spec.token === undefined ? {} : { token: spec.token, tokenIn: 'header' as const }),
    });
    this.client.on('signal', ({ from, data }) => this.onSignal(from, data));
    this.client.on('closed', ({ error }) => {
      if (error !== undefined) this.fail(error);
    });
  }

  /** Connects and joins; the newcomer then offers to the member already there. */
  async start(): Promise<void> {
    this.marks.start = performance.now();
    await this.client.connect();
    this.marks.wsConnected = performance.now();
    const joined = await this.client.join({ room: this.spec.room, name: this.name, capacity: 2 });
    this.marks.joined = performance.now();
    const other = joined.peers[0];
    if (other !== undefined) {
      this.remote = other.id;
      this.offerer = true;
      const pc = this.peerConnection();
      this.adopt(pc.createDataChannel('sigctl', { unordered: !this.spec.ordered }), this.spec.ordered);
    }
  }

  private peerConnection(): NdcPeerConnection {
    if (this.pc !== undefined) return this.pc;
    const pc = new this.ndc.PeerConnection(this.name, {
      // Both peers of a pair run on this host: host candidates always connect, no STUN/TURN needed.
      iceServers: [],
      ...(this.spec.bindAddress === undefined ? {} : { bindAddress: this.spec.bindAddress }),
    });
    this.pc = pc;
    pc.onLocalDescription((sdp, type) => {
      if (type === 'offer') this.marks.offerSent ??= performance.now();
      this.send({ description: { type, sdp } });
    });
    // The offerer holds its candidates until its own ICE is connected. libdatachannel's
    // setRemoteDescription starts ICE before it stores the description whose fingerprint the DTLS
    // handshake is verified against; an answerer that could already reach the offerer sometimes
    // connected and sent its certificate inside that window, and the offerer failed the handshake
    // ("certificate verify failed", about 1 pair in 30 under CPU load). And an answerer whose ICE
    // connects before the offerer's has its first DTLS flight dropped (the offerer has no DTLS
    // transport yet) and resent 1 s later. Held back, the answerer first hears of the offerer
    // through the offerer's own checks, so the offerer (DTLS server) is ready first; the answerer's
    // check then waits for libjuice's pacing, which shows in the DTLS phase (BENCHMARKS.md,
    // "Connect (join latency by phase)", run connect-p10-ndc: `sigctl bench connect --engine
    // node-datachannel --pairs 10`). Both peers of a bench pair run on this host, so the offerer can
    // always reach the answerer; the candidates still go out 250 ms after the answer if its ICE
    // has not connected by then.
    pc.onLocalCandidate((candidate, mid) => {
      const signal = { candidate: { candidate, sdpMid: mid, sdpMLineIndex: 0 } };
      if (this.offerer && !this.candidatesReleased) this.heldCandidates.push(signal);
      else this.send(signal);
    });
    pc.onIceStateChange((state) => {
      this.trail.push(`ice:${state}`);
      if (state === 'connected' || state === 'completed') {
        this.marks.iceConnected ??= performance.now();
        this.releaseCandidates();
      }
      if (state === 'failed') this.fail(new SigctlError('ICE_FAILED', `libdatachannel: ICE failed ${this.history()}`));
    });
    pc.onGatheringStateChange((state) => this.trail.push(`gathering:${state}`));
    pc.onStateChange((state) => {
      this.trail.push(`pc:${state}`);
      if (state === 'connected') this.marks.dtlsConnected ??= performance.now();
      if (state === 'failed') this.fail(new SigctlError('ICE_FAILED', `libdatachannel: connection failed ${this.history()}`));
    });
    // The answering side gets the channel from the DCEP open. node-datachannel does not expose the
    // ordering it announced, so this end reports the ordering the pair was configured with.
    pc.onDataChannel((dc) => this.adopt(dc, this.spec.ordered));
    return pc;
  }

  private adopt(dc: NdcDataChannel, ordered: boolean): void {
    const opened = (): void => {
      if (this.channel !== undefined) return;
      this.marks.channelOpen = performance.now();
      this.channel = new NdcChannel(dc, ordered);
      this.notify();
    };
    if (dc.isOpen()) opened();
    else dc.onOpen(opened);
  }

  private send(data: unknown): void {
    if (this.remote === undefined || this.client.state !== 'joined') return;
    try {
      this.client.signal(data as Parameters<SignalClient['signal']>[0], this.remote);
    } catch {
      // Not connected any more: the pair times out and is reported failed.
    }
  }

  private onSignal(from: string, data: unknown): void {
    const parsed = Payload.safeParse(data);
    if (!parsed.success) return;
    this.remote ??= from;
    const pc = this.peerConnection();
    try {
      if ('description' in parsed.data) {
        const d = parsed.data.description;
        if (d.type === 'answer') this.marks.answerReceived ??= performance.now();
        this.trail.push(`remote:${d.type}`);
        pc.setRemoteDescription(d.sdp, d.type);
        this.remoteSet = true;
        if (this.offerer && !this.candidatesReleased) this.releaseTimer ??= setTimeout(() => this.releaseCandidates(), 250);
        for (const c of this.pendingCandidates.splice(0)) this.addCandidate(pc, c);
      } else if (parsed.data.candidate !== null) {
        const c = { candidate: parsed.data.candidate.candidate, mid: parsed.data.candidate.sdpMid ?? '0' };
        if (this.remoteSet) this.addCandidate(pc, c);
        else this.pendingCandidates.push(c);
      }
    } catch (err) {
      this.fail(new SigctlError('BAD_MESSAGE', `libdatachannel refused a signal: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  /**
   * One candidate libdatachannel will not take (as browsers do, it refuses some it cannot use) must
   * not fail the pair: ICE goes on with the others, and a pair with none left fails by its timeout.
   */
  private addCandidate(pc: ReturnType<NdcPeer['peerConnection']>, c: { candidate: string; mid: string }): void {
    try {
      pc.addRemoteCandidate(c.candidate, c.mid);
      this.remoteCandidates++;
    } catch {
      this.refusedCandidates++;
    }
  }

  private releaseCandidates(): void {
    clearTimeout(this.releaseTimer);
    if (this.candidatesReleased) return;
    this.candidatesReleased = true;
    for (const c of this.heldCandidates.splice(0)) this.send(c);
  }

  /** What this peer went through, for a failure message: states, candidates, timing. */
  private history(): string {
    const ms = Math.round(performance.now() - this.marks.start);
    return `(peer ${this.name} after ${ms} ms: ${this.trail.join(' ')}; remote candidates ${this.remoteCandidates} taken, ${this.refusedCandidates} refused, ${this.pendingCandidates.length} pending)`;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w(this.failure);
  }

  /** Resolves with the open channel; rejects on failure or after `ms`. */
  open(ms: number, what: string): Promise<NdcChannel> {
    return within<NdcChannel>(ms, what, (resolve, reject) => {
      const check = (err?: Error): void => {
        if (this.channel !== undefined) resolve(this.channel);
        else if (err !== undefined) reject(err);
      };
      this.waiters.add(check);
      check(this.failure);
      return () => this.waiters.delete(check);
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.releaseTimer);
    this.channel?.close();
    try {
      this.pc?.close();
    } catch {
      // already closed
    }
    await this.client.close();
  }
}

function rel(marks: Marks): PairResult['at'] {
  const r = (t: number | undefined): number | null => (t === undefined ? null : t - marks.start);
  return {
    wsConnected: r(marks.wsConnected),
    joined: r(marks.joined),
    offerSent: r(marks.offerSent),
    answerReceived: r(marks.answerReceived),
    iceConnected: r(marks.iceConnected),
    dtlsConnected: r(marks.dtlsConnected),
    channelOpen: r(marks.channelOpen),
  };
}

class NdcEngine implements PairEngine {
  readonly name = 'node-datachannel' as const;
  private readonly peers = new Set<NdcPeer>();
  private closed = false;

  constructor(private readonly ndc: NdcModule) {}

  warmUp(): Promise<void> {
    // Nothing to hide: libdatachannel is native code, with no JIT and a cheap certificate.
    return Promise.resolve();
  }

  private peer(url: string, spec: PairSpec, name: string): NdcPeer {
    if (this.closed) throw new SigctlError('ABORTED', 'closing');
    const p = new NdcPeer(this.ndc, url, spec, name);
    this.peers.add(p);
    return p;
  }

  async joinFirst(spec: PairSpec): Promise<FirstPeer> {
    const first = this.peer(spec.urls[0], spec, `a${spec.index}`);
    await first.start();
    const open = first.open(spec.timeoutMs, "the first peer's channel");
    open.catch(() => undefined);
    return { open };
  }

  async connectNewcomer(spec: PairSpec): Promise<ConnectedNewcomer> {
    const second = this.peer(spec.urls[1], spec, `b${spec.index}`);
    await second.start();
    const sender = await second.open(spec.timeoutMs, "the pair's data channel");
    let candidatePair: string | null = null;
    const selected = second.pc?.getSelectedCandidatePair();
    if (selected !== null && selected !== undefined) candidatePair = `${selected.local.type}/${selected.remote.type} (${selected.local.transportType})`;
    return { sender, at: rel(second.marks), candidatePair };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.peers].map((p) => Promise.race([p.close(), new Promise((r) => setTimeout(r, 5_000))])));
  }
}

/** Loads node-datachannel (ENGINE_MISSING when it is not installed) and creates the engine. */
export async function createNdcEngine(): Promise<PairEngine> {
  let ndc: NdcModule;
  try {
    ndc = await import('node-datachannel');
  } catch (err) {
    throw new SigctlError('ENGINE_MISSING', `engine node-datachannel is not available: ${err instanceof Error ? err.message : String(err)} (an optional dependency: npm install node-datachannel)`, { cause: err });
  }
  return new NdcEngine(ndc);
}
