/**
 * One werift peer connection to one remote member: W3C perfect negotiation over whatever carries
 * signals (the signaling server, or a direct pipe in tests), trickle ICE with candidates buffered
 * until the remote description is set, one data channel, phase timestamps, and recovery.
 *
 * werift facts handled here: restartIce() breaks the connection silently, so recovery recreates
 * the peer connection and offers again; addIceCandidate before the remote description "succeeds"
 * and loses the candidate, so candidates are buffered; garbage SDP is accepted, so descriptions
 * are checked (./sdp.ts); a failed connection that is never closed keeps the process alive, so
 * every path that gives up closes it.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { TypedEmitter } from '../client/typed-emitter.js';
import { systemClock, type Clock, type TimerHandle } from '../client/clock.js';
import { SigctlError } from '../protocol/errors.js';
import { SignalPayload } from '../protocol/messages.js';
import { PeerChannel, type ChannelData } from './channel.js';
import { sdpProblem, sessionIdentity } from './sdp.js';
import { candidateTypeOf, selectedPair, type SelectedPair } from './stats.js';
import { createWeriftPeerConnection, type WeriftPeerOptions } from './werift-factory.js';

/** Connection phases of one link, in the order they normally happen. */
export type LinkPhase = 'offer-sent' | 'offer-received' | 'answer-sent' | 'answer-received' | 'ice-connected' | 'dtls-connected' | 'channel-open';

/** How a link came up: phase timestamps (clock.now() ms), the selected pair, restarts needed. */
export interface LinkReport {
  peer: string;
  /** When this link (or its latest restart) started. */
  startedAt: number;
  phases: Partial<Record<LinkPhase, number>>;
  pair: SelectedPair | undefined;
  restarts: number;
}

/** Events of a PeerLink. */
export type PeerLinkEvents = {
  phase: [phase: LinkPhase, at: number];
  /** The data channel is open (again, after a restart). */
  'channel-open': [PeerChannel];
  /** Channel open and the selected pair read: the link is usable. */
  connected: [LinkReport];
  message: [ChannelData];
  /** A signal from the far end could not be used (invalid payload, bad SDP); the link goes on. */
  'signal-error': [SigctlError];
  /** Recovering: the peer connection is being recreated. */
  restarting: [reason: string];
  /** Terminal: ICE_FAILED, TIMEOUT, NO_RELAY_CANDIDATES or TURN_AUTH_FAILED. The link is closed. */
  failed: [SigctlError];
  closed: [];
};

/** The signal payloads a link sends (the W3C perfect-negotiation shape). */
export type OutgoingSignal =
  | { description: { type: 'offer' | 'answer'; sdp: string } }
  | { candidate: { candidate: string; sdpMid?: string | undefined; sdpMLineIndex?: number | undefined } | null };

export interface PeerLinkOptions extends WeriftPeerOptions {
  remoteId: string;
  /** Perfect negotiation: the polite peer rolls back its own offer when offers cross (the smaller id is polite). */
  polite: boolean;
  /** Creates the data channel and makes the first offer (by convention: the newcomer). */
  initiator: boolean;
  /** Delivers a payload to the far end. */
  sendSignal: (data: OutgoingSignal) => void;
  clock?: Clock | undefined;
  /** From start (or restart) to an open data channel, before a restart or failure (ms, default 20000). */
  connectTimeoutMs?: number | undefined;
  /** With relayOnly: time for a relay candidate to appear (ms, default 10000; werift stalls ~13 s on bad TURN credentials). */
  gatherTimeoutMs?: number | undefined;
  /** Recreate-and-reoffer attempts after a failure (default 1). */
  maxRestarts?: number | undefined;
  /** Data channel label (default "sigctl"). */
  channelLabel?: string | undefined;
}

type CandidateInit = { candidate: string; sdpMid?: string | undefined; sdpMLineIndex?: number | undefined };
type LinkState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';
interface Subscription {
  unSubscribe: () => void;
}

/** A negotiated connection to one remote peer. */
export class PeerLink extends TypedEmitter<PeerLinkEvents> {
  readonly remoteId: string;
  private readonly options: PeerLinkOptions;
  private readonly clock: Clock;
  private pc: RTCPeerConnection;
  private subs: Subscription[] = [];
  private channelWrapper: PeerChannel | undefined;
  private linkState: LinkState = 'new';
  private makingOffer = false;
  private ignoreOffer = false;
  private pending: CandidateInit[] = [];
  /**
   * Local candidates wait until our description has been sent: werift gathers inside
   * setLocalDescription, and a browser far end rejects candidates that precede the description.
   */
  private outbox: OutgoingSignal[] | undefined = [];
  private queue: Promise<void> = Promise.resolve();
  private remoteIdentity: string | undefined;
  private phases: Partial<Record<LinkPhase, number>> = {};
  private startedAt: number;
  private restarts = 0;
  private localTypes = new Set<string>();
  private remoteTypes = new Set<string>();
  private connectTimer: TimerHandle;
  private gatherTimer: TimerHandle;
  private closing: Promise<void> | undefined;

  constructor(options: PeerLinkOptions) {
    super();
    this.options = options;
    this.remoteId = options.remoteId;
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.pc = this.createPc();
  }

  /** The open data channel, if any. */
  get channel(): PeerChannel | undefined {
    return this.channelWrapper?.isOpen === true ? this.channelWrapper : undefined;
  }

  get state(): LinkState {
    return this.linkState;
  }

  get isInitiator(): boolean {
    return this.options.initiator;
  }

  /** Starts negotiating: the initiator opens the channel and offers; the other side waits for the offer. */
  start(): void {
    if (this.linkState !== 'new') return;
    this.linkState = 'connecting';
    this.armConnectTimer();
    if (this.options.initiator) this.enqueue(() => this.offer());
  }

  /** Feeds a payload from the far end (validated here: it comes from the wire). */
  handleSignal(data: unknown): void {
    const parsed = SignalPayload.safeParse(data);
    if (!parsed.success) {
      this.emit('signal-error', new SigctlError('BAD_MESSAGE', `invalid signal payload from ${this.remoteId}: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
      return;
    }
    if (this.linkState === 'new') this.start();
    const payload = parsed.data;
    this.enqueue(() => ('description' in payload ? this.applyDescription(payload.description) : this.applyCandidate(payload.candidate)));
  }

  /** Closes the peer connection (idempotent). */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.linkState = 'closed';
    this.clearTimers();
    this.closing = this.closePc(this.pc).then(() => {
      this.emit('closed');
      this.removeAllListeners();
    });
    return this.closing;
  }

  // ---- negotiation --------------------------------------------------------------------------------

  /** Signals are applied one at a time: werift's description/candidate calls must not interleave. */
  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      if (this.linkState === 'closed') return;
      const error = err instanceof SigctlError ? err : new SigctlError('BAD_MESSAGE', `negotiation with ${this.remoteId} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      this.emit('signal-error', error);
    });
  }

  private async offer(): Promise<void> {
    const pc = this.pc;
    if (this.channelWrapper === undefined) this.adoptChannel(pc.createDataChannel(this.options.channelLabel ?? 'sigctl', { ordered: true }));
    this.makingOffer = true;
    // werift gathers inside setLocalDescription and stalls there on a bad TURN server: the gather
    // limit has to run before it, not after.
    this.armGatherTimer();
    try {
      await pc.setLocalDescription(await pc.createOffer());
    } finally {
      this.makingOffer = false;
    }
    if (pc !== this.pc || this.linkState === 'closed') return;
    const sdp = pc.localDescription?.sdp;
    if (sdp === undefined) return;
    this.options.sendSignal({ description: { type: 'offer', sdp } });
    this.mark('offer-sent');
    this.flushOutbox();
  }

  private async applyDescription(desc: { type: string; sdp: string }): Promise<void> {
    if (this.linkState === 'closed' || this.linkState === 'failed') return;
    if (desc.type !== 'offer' && desc.type !== 'answer') {
      throw new SigctlError('BAD_MESSAGE', `unsupported description type ${desc.type} from ${this.remoteId}`);
    }
    const problem = sdpProblem(desc.sdp);
    if (problem !== undefined) throw new SigctlError('BAD_MESSAGE', `unusable ${desc.type} SDP from ${this.remoteId}: ${problem}`);
    for (const m of desc.sdp.matchAll(/^a=(candidate:.*)$/gm)) {
      const type = candidateTypeOf(m[1] ?? '');
      if (type !== undefined) this.remoteTypes.add(type);
    }
    const identity = sessionIdentity(desc.sdp);
    if (desc.type === 'offer' && this.remoteIdentity !== undefined && identity !== this.remoteIdentity) {
      // The far end started a new ICE/DTLS session (its restart, or it rejoined): werift cannot
      // restart in place, so answer it from a fresh peer connection.
      this.recreate(false);
    }
    const pc = this.pc;
    const collision = desc.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.options.polite && collision;
    if (this.ignoreOffer) return;
    if (collision) await pc.setLocalDescription({ type: 'rollback' });
    if (desc.type === 'answer' && pc.signalingState !== 'have-local-offer') return; // stale answer
    await pc.setRemoteDescription({ type: desc.type, sdp: desc.sdp });
    if (pc !== this.pc) return;
    this.remoteIdentity = identity;
    this.mark(desc.type === 'offer' ? 'offer-received' : 'answer-received');
    const buffered = this.pending;
    this.pending = [];
    for (const c of buffered) await this.addCandidate(pc, c);
    if (desc.type === 'offer') {
      this.armGatherTimer();
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = pc.localDescription?.sdp;
      if (pc !== this.pc || sdp === undefined) return;
      this.options.sendSignal({ description: { type: 'answer', sdp } });
      this.mark('answer-sent');
      this.flushOutbox();
    }
  }

  private async applyCandidate(c: { candidate: string; sdpMid?: string | null | undefined; sdpMLineIndex?: number | null | undefined } | null): Promise<void> {
    if (c === null || this.linkState === 'closed') return; // end of candidates: werift needs nothing
    if (c.candidate === '') return; // an empty candidate is the legacy end-of-candidates marker
    const type = candidateTypeOf(c.candidate);
    if (type !== undefined) this.remoteTypes.add(type);
    const init: CandidateInit = { candidate: c.candidate, sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined };
    if (this.pc.remoteDescription === null) {
      this.pending.push(init);
      return;
    }
    await this.addCandidate(this.pc, init);
  }

  private async addCandidate(pc: RTCPeerConnection, c: CandidateInit): Promise<void> {
    try {
      await pc.addIceCandidate(c);
    } catch (err) {
      if (!this.ignoreOffer) throw err;
    }
  }

  // ---- the werift peer connection -----------------------------------------------------------------

  private createPc(): RTCPeerConnection {
    const pc = createWeriftPeerConnection(this.options);
    const mine = (): boolean => pc === this.pc && this.linkState !== 'closed';
    this.subs = [
      pc.onIceCandidate.subscribe((candidate) => {
        if (!mine()) return;
        if (candidate === undefined) {
          this.sendCandidate({ candidate: null });
          this.onGatheringComplete();
          return;
        }
        const type = candidateTypeOf(candidate.candidate);
        if (type !== undefined) this.localTypes.add(type);
        if (type === 'relay') this.clearGatherTimer();
        const json = candidate.toJSON();
        this.sendCandidate({ candidate: { candidate: json.candidate, sdpMid: json.sdpMid, sdpMLineIndex: json.sdpMLineIndex } });
      }),
      pc.iceConnectionStateChange.subscribe((state) => {
        // Not 'completed': werift 0.24 reports it when gathering ends, before any check ran.
        if (mine() && state === 'connected') this.mark('ice-connected');
      }),
      pc.connectionStateChange.subscribe((state) => {
        if (!mine()) return;
        if (state === 'connected') {
          this.mark('ice-connected'); // no-op unless werift skipped 'connected'
          this.mark('dtls-connected');
        }
        if (state === 'failed') this.onTrouble('ICE failed');
      }),
      pc.onDataChannel.subscribe((dc) => {
        // The first channel is the one we send on. After crossed offers both sides may have opened
        // one; messages from every channel are delivered, so either side's choice works.
        if (!mine()) return;
        if (this.channelWrapper === undefined) this.adoptChannel(dc);
        else this.listenTo(dc);
      }),
    ];
    return pc;
  }

  private sendCandidate(signal: OutgoingSignal): void {
    if (this.outbox !== undefined) this.outbox.push(signal);
    else this.options.sendSignal(signal);
  }

  private flushOutbox(): void {
    const queued = this.outbox ?? [];
    this.outbox = undefined;
    for (const s of queued) this.options.sendSignal(s);
  }

  private adoptChannel(dc: RTCDataChannel): void {
    const channel = new PeerChannel(dc);
    this.channelWrapper = channel;
    const onOpen = (): void => {
      if (this.channelWrapper !== channel || this.linkState === 'closed') return;
      this.mark('channel-open');
      this.clearTimers();
      this.linkState = 'connected';
      this.emit('channel-open', channel);
      void this.report().then((r) => {
        if (this.channelWrapper === channel && this.linkState === 'connected') this.emit('connected', r);
      });
    };
    this.listenTo(dc);
    if (dc.readyState === 'open') onOpen();
    else
      dc.stateChanged.subscribe((s) => {
        if (s === 'open') onOpen();
      });
  }

  private listenTo(dc: RTCDataChannel): void {
    const pc = this.pc;
    dc.onMessage.subscribe((data) => {
      if (pc === this.pc && this.linkState !== 'closed') this.emit('message', data);
    });
  }

  private async report(): Promise<LinkReport> {
    let pair: SelectedPair | undefined;
    try {
      pair = await selectedPair(this.pc);
    } catch {
      pair = undefined;
    }
    return { peer: this.remoteId, startedAt: this.startedAt, phases: { ...this.phases }, pair, restarts: this.restarts };
  }

  private mark(phase: LinkPhase): void {
    if (this.phases[phase] !== undefined) return;
    const at = this.clock.now();
    this.phases[phase] = at;
    this.emit('phase', phase, at);
  }

  /** Replaces the peer connection. The initiator (when `offer`) opens a new channel and offers again. */
  private recreate(offer: boolean): void {
    const old = this.pc;
    for (const s of this.subs) s.unSubscribe();
    void this.closePc(old);
    this.channelWrapper = undefined;
    this.pending = [];
    this.outbox = [];
    this.remoteIdentity = undefined;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.phases = {};
    this.startedAt = this.clock.now();
    this.localTypes = new Set();
    this.linkState = 'connecting';
    this.clearTimers();
    this.pc = this.createPc();
    this.armConnectTimer();
    if (offer) this.enqueue(() => this.offer());
  }

  /** The connection failed or timed out: restart (initiator), wait for the far end's restart, or give up. */
  private onTrouble(reason: string): void {
    if (this.linkState === 'closed' || this.linkState === 'failed') return;
    if (this.restarts < (this.options.maxRestarts ?? 1)) {
      this.restarts += 1;
      this.emit('restarting', reason);
      if (this.options.initiator) this.recreate(true);
      else this.armConnectTimer(); // the initiator restarts; its new offer recreates our side
      return;
    }
    this.fail(this.failureError(reason));
  }

  private failureError(reason: string): SigctlError {
    const local = [...this.localTypes].sort().join(',') || 'none';
    const remote = [...this.remoteTypes].sort().join(',') || 'none';
    const details = { peer: this.remoteId, localCandidateTypes: [...this.localTypes], remoteCandidateTypes: [...this.remoteTypes], restarts: this.restarts };
    if (this.pc.remoteDescription === null) {
      return new SigctlError('TIMEOUT', `no ${this.options.initiator ? 'answer' : 'offer'} from peer ${this.remoteId} (${reason})`, { details });
    }
    return new SigctlError('ICE_FAILED', `ICE with peer ${this.remoteId} failed (${reason}); candidate types tried: local ${local}, remote ${remote}`, { details });
  }

  private fail(error: SigctlError): void {
    if (this.linkState === 'closed' || this.linkState === 'failed') return;
    this.linkState = 'failed';
    this.clearTimers();
    this.emit('failed', error);
    void this.close();
  }

  private onGatheringComplete(): void {
    if (this.options.relayOnly === true && !this.localTypes.has('relay')) {
      this.fail(new SigctlError('NO_RELAY_CANDIDATES', `--relay-only: gathering finished without a relay candidate (check the TURN servers and their credentials)`, { details: { peer: this.remoteId } }));
    }
  }

  private armConnectTimer(): void {
    if (this.connectTimer !== undefined) this.clock.clearTimeout(this.connectTimer);
    const ms = this.options.connectTimeoutMs ?? 20_000;
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = undefined;
      this.onTrouble(`not connected within ${Math.round(ms / 100) / 10} s`);
    }, ms);
  }

  private armGatherTimer(): void {
    if (this.options.relayOnly !== true || this.localTypes.has('relay') || this.gatherTimer !== undefined) return;
    const ms = this.options.gatherTimeoutMs ?? 10_000;
    this.gatherTimer = this.clock.setTimeout(() => {
      this.gatherTimer = undefined;
      if (this.localTypes.has('relay')) return;
      this.fail(new SigctlError('TURN_AUTH_FAILED', `--relay-only: no relay candidate within ${ms / 1000} s (TURN refused the credentials or is unreachable)`, { details: { peer: this.remoteId } }));
    }, ms);
  }

  private clearGatherTimer(): void {
    if (this.gatherTimer !== undefined) this.clock.clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
  }

  private clearTimers(): void {
    if (this.connectTimer !== undefined) this.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.clearGatherTimer();
  }

  private async closePc(pc: RTCPeerConnection): Promise<void> {
    if (pc === this.pc) for (const s of this.subs) s.unSubscribe();
    let timer: TimerHandle;
    await Promise.race([
      pc.close().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, 2_000);
      }),
    ]);
    this.clock.clearTimeout(timer);
  }
}
