/**
 * One werift peer connection to one remote member: W3C perfect negotiation over whatever carries
 * signals (the signaling server, or a direct pipe in tests), trickle ICE with candidates buffered
 * until the remote description is set, one data channel, phase timestamps, and recovery.
 *
 * werift facts handled here: restartIce() breaks the connection silently, so recovery recreates
 * the peer connection and offers again; addIceCandidate before the remote description "succeeds"
 * and loses the candidate, so candidates are buffered (./candidates.ts); garbage SDP is accepted,
 * so descriptions are checked (./sdp.ts); a failed connection that is never closed keeps the
 * process alive, so every path that gives up closes it. The connect and gather deadlines are
 * ./link-deadlines.ts; the public shapes ./link-types.ts.
 *
 * One channel per pair: the initiator creates it. When offers cross, the polite side rolls back
 * its offer and closes the channel it had created (not yet open), so both sides use the impolite
 * side's channel and no second SCTP stream is ever opened.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { TypedEmitter } from '../client/typed-emitter.js';
import { systemClock, type Clock } from '../client/clock.js';
import { SigctlError } from '../protocol/errors.js';
import { decodeSignal, type Dialect } from './dialect.js';
import { CandidateQueues, type CandidateInit } from './candidates.js';
import { PeerChannel } from './channel.js';
import { LinkDeadlines } from './link-deadlines.js';
import type { LinkPhase, LinkReport, PeerLinkEvents, PeerLinkOptions } from './link-types.js';
import { sdpProblem, sessionIdentity } from './sdp.js';
import { selectedPair, type SelectedPair } from './stats.js';
import { closeWeriftPeerConnection, createWeriftPeerConnection } from './werift-factory.js';

export { prepareWerift } from './werift-factory.js';
export type { LinkPhase, LinkReport, OutgoingSignal, PeerLinkEvents, PeerLinkOptions } from './link-types.js';

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
  private speaking: Dialect;
  /** Remote types outlive a recreated connection (they go into the ICE_FAILED message). */
  private readonly remoteTypes = new Set<string>();
  private candidates = new CandidateQueues(this.remoteTypes);
  private queue: Promise<void> = Promise.resolve();
  private remoteIdentity: string | undefined;
  private phases: Partial<Record<LinkPhase, number>> = {};
  private startedAt: number;
  private restarts = 0;
  private readonly deadlines: LinkDeadlines;
  private closing: Promise<void> | undefined;

  constructor(options: PeerLinkOptions) {
    super();
    this.options = options;
    this.remoteId = options.remoteId;
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.deadlines = new LinkDeadlines(this.clock, options, {
      notConnected: (reason) => this.onTrouble(reason),
      noRelay: (ms) => {
        if (this.candidates.localTypes.has('relay')) return;
        this.fail(new SigctlError('TURN_AUTH_FAILED', `--relay-only: no relay candidate within ${ms / 1000} s (TURN refused the credentials or is unreachable)`, { details: { peer: this.remoteId } }));
      },
    });
    this.pc = this.createPc();
    this.speaking = options.dialect ?? 'sigctl';
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
    this.deadlines.armConnect();
    if (this.options.initiator) this.enqueue(() => this.offer());
  }

  /** Feeds a payload from the far end (validated here: it comes from the wire). */
  handleSignal(data: unknown): void {
    const decoded = decodeSignal(data);
    if (decoded.kind === 'control') return;
    if (decoded.kind === 'invalid') {
      this.emit('signal-error', new SigctlError('BAD_MESSAGE', `invalid signal payload from ${this.remoteId}: ${decoded.reason}`));
      return;
    }
    // Answer in the dialect the far end speaks (dialect.ts).
    this.speaking = decoded.dialect;
    if (this.linkState === 'new') this.start();
    const payload = decoded.payload;
    this.enqueue(() => ('description' in payload ? this.applyDescription(payload.description) : this.applyCandidate(payload.candidate)));
  }

  /** The payload dialect this link writes: its own until the far end has spoken another. */
  get dialect(): Dialect {
    return this.speaking;
  }

  /** Closes the peer connection (idempotent). */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.linkState = 'closed';
    this.deadlines.clear();
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
    if (this.channelWrapper === undefined) this.adoptChannel(pc.createDataChannel(this.options.channelLabel ?? 'sigctl', { ordered: this.options.ordered ?? true, protocol: this.options.channelProtocol ?? '' }));
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
    this.candidates.flush(this.options.sendSignal);
  }

  private async applyDescription(desc: { type: string; sdp: string }): Promise<void> {
    if (this.linkState === 'closed' || this.linkState === 'failed') return;
    if (desc.type !== 'offer' && desc.type !== 'answer') {
      throw new SigctlError('BAD_MESSAGE', `unsupported description type ${desc.type} from ${this.remoteId}`);
    }
    const problem = sdpProblem(desc.sdp);
    if (problem !== undefined) throw new SigctlError('BAD_MESSAGE', `unusable ${desc.type} SDP from ${this.remoteId}: ${problem}`);
    this.candidates.noteRemoteSdp(desc.sdp);
    const identity = sessionIdentity(desc.sdp);
    if (desc.type === 'offer' && this.remoteIdentity !== undefined && identity !== this.remoteIdentity) {
      // The far end started a new ICE/DTLS session (its restart, or it rejoined): werift cannot
      // restart in place, so answer it from a fresh peer connection.
      this.recreate(false);
    }
    const pc = this.pc;
    const collision = desc.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    // A far end in another dialect knows nothing of the polite rule (and may not have understood
    // our offer): yield to its offer.
    this.ignoreOffer = !this.options.polite && this.speaking === 'sigctl' && collision;
    if (this.ignoreOffer) return;
    if (collision) {
      await pc.setLocalDescription({ type: 'rollback' });
      this.dropOwnChannel();
    }
    if (desc.type === 'answer' && pc.signalingState !== 'have-local-offer') return; // stale answer
    await pc.setRemoteDescription({ type: desc.type, sdp: desc.sdp });
    if (pc !== this.pc) return;
    this.remoteIdentity = identity;
    this.mark(desc.type === 'offer' ? 'offer-received' : 'answer-received');
    for (const c of this.candidates.takeHeld()) await this.addCandidate(pc, c);
    if (desc.type === 'offer') {
      this.armGatherTimer();
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = pc.localDescription?.sdp;
      if (pc !== this.pc || sdp === undefined) return;
      this.options.sendSignal({ description: { type: 'answer', sdp } });
      this.mark('answer-sent');
      this.candidates.flush(this.options.sendSignal);
    }
  }

  private async applyCandidate(c: { candidate: string; sdpMid?: string | null | undefined; sdpMLineIndex?: number | null | undefined } | null): Promise<void> {
    if (c === null || this.linkState === 'closed') return; // end of candidates: werift needs nothing
    if (c.candidate === '') return; // an empty candidate is the legacy end-of-candidates marker
    this.candidates.noteRemote(c.candidate);
    const init: CandidateInit = { candidate: c.candidate, sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined };
    if (this.pc.remoteDescription === null) {
      this.candidates.hold(init);
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
    const candidates = this.candidates;
    const mine = (): boolean => pc === this.pc && this.linkState !== 'closed';
    this.subs = [
      pc.onIceCandidate.subscribe((candidate) => {
        if (!mine()) return;
        if (candidate === undefined) {
          candidates.sendOrQueue({ candidate: null }, this.options.sendSignal);
          this.onGatheringComplete();
          return;
        }
        if (candidates.noteLocal(candidate.candidate) === 'relay') this.deadlines.clearGather();
        const json = candidate.toJSON();
        candidates.sendOrQueue({ candidate: { candidate: json.candidate, sdpMid: json.sdpMid, sdpMLineIndex: json.sdpMLineIndex } }, this.options.sendSignal);
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
        // The first channel is the one we send on (a browser may open more: their messages are
        // delivered too). After crossed offers the polite side has dropped its own (dropOwnChannel).
        if (!mine()) return;
        if (this.channelWrapper === undefined) this.adoptChannel(dc);
        else this.listenTo(dc);
      }),
    ];
    return pc;
  }

  /**
   * Polite side, offers crossed: our offer was rolled back, so the channel we created for it is
   * dropped while SCTP is not up yet (werift then never announces it) and the impolite side's
   * channel, announced on the association, becomes the one. Without this both sides kept their
   * own channel and each sent on a different stream.
   */
  private dropOwnChannel(): void {
    const own = this.channelWrapper?.raw;
    if (own === undefined || own.isCreatedByRemote || own.readyState !== 'connecting') return;
    this.channelWrapper = undefined;
    own.close();
  }

  private adoptChannel(dc: RTCDataChannel): void {
    const channel = new PeerChannel(dc);
    this.channelWrapper = channel;
    const onOpen = (): void => {
      if (this.channelWrapper !== channel || this.linkState === 'closed') return;
      this.mark('channel-open');
      this.deadlines.clear();
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
    this.candidates = new CandidateQueues(this.remoteTypes);
    this.remoteIdentity = undefined;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.phases = {};
    this.startedAt = this.clock.now();
    this.linkState = 'connecting';
    this.deadlines.clear();
    this.pc = this.createPc();
    this.deadlines.armConnect();
    if (offer) this.enqueue(() => this.offer());
  }

  /** The connection failed or timed out: restart (initiator), wait for the far end's restart, or give up. */
  private onTrouble(reason: string): void {
    if (this.linkState === 'closed' || this.linkState === 'failed') return;
    if (this.restarts < (this.options.maxRestarts ?? 1)) {
      this.restarts += 1;
      this.emit('restarting', reason);
      if (this.options.initiator) this.recreate(true);
      else this.deadlines.armConnect(); // the initiator restarts; its new offer recreates our side
      return;
    }
    this.fail(this.failureError(reason));
  }

  private failureError(reason: string): SigctlError {
    const tried = this.candidates.describeTried();
    const details = { peer: this.remoteId, localCandidateTypes: tried.local, remoteCandidateTypes: tried.remote, restarts: this.restarts };
    if (this.pc.remoteDescription === null) {
      return new SigctlError('TIMEOUT', `no ${this.options.initiator ? 'answer' : 'offer'} from peer ${this.remoteId} (${reason})`, { details });
    }
    return new SigctlError('ICE_FAILED', `ICE with peer ${this.remoteId} failed (${reason}); candidate types tried: ${tried.text}`, { details });
  }

  private fail(error: SigctlError): void {
    if (this.linkState === 'closed' || this.linkState === 'failed') return;
    this.linkState = 'failed';
    this.deadlines.clear();
    this.emit('failed', error);
    void this.close();
  }

  private onGatheringComplete(): void {
    if (this.options.relayOnly === true && !this.candidates.localTypes.has('relay')) {
      this.fail(new SigctlError('NO_RELAY_CANDIDATES', `--relay-only: gathering finished without a relay candidate (check the TURN servers and their credentials)`, { details: { peer: this.remoteId } }));
    }
  }

  private armGatherTimer(): void {
    if (this.options.relayOnly === true && !this.candidates.localTypes.has('relay')) this.deadlines.armGather();
  }

  private async closePc(pc: RTCPeerConnection): Promise<void> {
    if (pc === this.pc) for (const s of this.subs) s.unSubscribe();
    await closeWeriftPeerConnection(pc, this.clock);
  }
}
