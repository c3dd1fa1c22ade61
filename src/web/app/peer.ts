/**
 * One RTCPeerConnection to one remote member, negotiated as docs/protocol.md defines it: the
 * newcomer (`initiator`) opens the data channel and offers; the member already there waits for that
 * offer; when offers cross (renegotiation from both sides at once) the smaller id is polite and
 * rolls back, the impolite side ignores the other offer (W3C perfect negotiation). Candidates that
 * come before their description are held until it is set.
 *
 * Media: with a `media` peer (another copy of this app) both audio and video transceivers exist
 * from the first offer (recvonly when we have no such track), so a camera turned on later is a
 * replaceTrack plus a direction change: one renegotiation, by whichever side turned it on.
 * With a data-only peer (`sigctl peer`, werift) there are no media sections at all.
 */
import type { SignalPayload } from '../../client/browser.js';

const KINDS = ['audio', 'video'] as const;

/** What a RemotePeer reports to its owner. */
export interface PeerEvents {
  /** A remote track arrived (it is in `remoteStream`). */
  track(): void;
  channelOpen(channel: RTCDataChannel): void;
  message(data: string | ArrayBuffer): void;
  /** connectionState or signalingState changed. */
  state(): void;
  problem(message: string): void;
}

export interface RemotePeerOptions {
  id: string;
  polite: boolean;
  initiator: boolean;
  media: boolean;
  iceServers: RTCIceServer[];
  relayOnly: boolean;
  /** The local stream as it is now (tracks come and go). */
  local: () => MediaStream;
  signal: (data: SignalPayload) => void;
  events: PeerEvents;
}

/** A negotiated connection to one remote member. */
export class RemotePeer {
  readonly pc: RTCPeerConnection;
  readonly remoteStream = new MediaStream();
  channel: RTCDataChannel | undefined;
  private makingOffer = false;
  private ignoreOffer = false;
  private held: RTCIceCandidateInit[] = [];
  /** Signals are applied one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: RemotePeerOptions) {
    const pc = new RTCPeerConnection({ iceServers: o.iceServers, iceTransportPolicy: o.relayOnly ? 'relay' : 'all' });
    this.pc = pc;
    pc.onicecandidate = ({ candidate: c }) =>
      o.signal({ candidate: c === null ? null : { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment } });
    pc.onnegotiationneeded = () => void this.offer();
    pc.ontrack = ({ track }) => {
      for (const old of this.remoteStream.getTracks()) if (old.kind === track.kind) this.remoteStream.removeTrack(old);
      this.remoteStream.addTrack(track);
      o.events.track();
    };
    pc.ondatachannel = ({ channel }) => {
      if (this.channel === undefined || this.channel.readyState === 'closed') this.adopt(channel);
    };
    pc.onconnectionstatechange = () => o.events.state();
    pc.onsignalingstatechange = () => o.events.state();
    if (o.initiator) {
      this.adopt(pc.createDataChannel('sigctl', { ordered: true }));
      if (o.media) this.attachMedia(true);
    }
  }

  /** Connected: media or data flows (the data channel is open or ICE+DTLS are up). */
  get connected(): boolean {
    return this.pc.connectionState === 'connected' || this.channel?.readyState === 'open';
  }

  /** Applies one validated signal payload from this member. */
  handle(payload: SignalPayload): void {
    this.queue = this.queue
      .then(() => ('description' in payload ? this.applyDescription(payload.description) : this.applyCandidate(payload.candidate)))
      .catch((err: unknown) => {
        if (!this.closed) this.o.events.problem(`negotiation: ${err instanceof Error ? err.message : String(err)}`);
      });
  }

  /** Puts the current local tracks on the connection (after the camera or microphone came on). */
  refreshMedia(): void {
    if (this.o.media && !this.closed) this.attachMedia(false);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    this.pc.close();
  }

  private adopt(channel: RTCDataChannel): void {
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => {
      this.o.events.channelOpen(channel);
      this.o.events.state();
    };
    channel.onclose = () => this.o.events.state();
    channel.onmessage = ({ data }: MessageEvent<string | ArrayBuffer>) => this.o.events.message(data);
    if (channel.readyState === 'open') channel.onopen(new Event('open'));
  }

  /**
   * Each local track goes into a transceiver of its kind that has no track yet (sendrecv), or a
   * new one. `recvSlots`: also make a recvonly transceiver for kinds we do not send, so the far
   * end can send them without asking (the initiator's first offer).
   */
  private attachMedia(recvSlots: boolean): void {
    const stream = this.o.local();
    for (const kind of KINDS) {
      const track = stream.getTracks().find((t) => t.kind === kind);
      const slot = this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
      if (track === undefined) {
        if (slot === undefined && recvSlots) this.pc.addTransceiver(kind, { direction: 'recvonly' });
        continue;
      }
      if (slot === undefined) {
        this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
        continue;
      }
      if (slot.sender.track !== track) void slot.sender.replaceTrack(track);
      slot.sender.setStreams(stream);
      if (slot.direction !== 'sendrecv') slot.direction = 'sendrecv';
    }
  }

  private async offer(): Promise<void> {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const desc = this.pc.localDescription;
      if (desc !== null) this.o.signal({ description: { type: desc.type, sdp: desc.sdp } });
    } catch (err) {
      this.o.events.problem(`offer: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.makingOffer = false;
    }
  }

  private async applyDescription(d: RTCSessionDescriptionInit): Promise<void> {
    if (this.closed) return;
    const pc = this.pc;
    const collision = d.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.o.polite && collision;
    if (this.ignoreOffer) return;
    if (d.type === 'answer' && pc.signalingState !== 'have-local-offer') return; // stale answer
    // On a collision the polite side's setRemoteDescription rolls its own offer back implicitly.
    await pc.setRemoteDescription(d);
    for (const c of this.held.splice(0)) await this.addCandidate(c);
    if (d.type !== 'offer') return;
    if (this.o.media) this.attachMedia(false);
    await pc.setLocalDescription();
    const answer = pc.localDescription;
    if (answer !== null) this.o.signal({ description: { type: answer.type, sdp: answer.sdp } });
  }

  private async applyCandidate(c: RTCIceCandidateInit | null): Promise<void> {
    if (this.closed || c === null || c.candidate === '') return; // end of candidates: nothing to do
    if (this.pc.remoteDescription === null) {
      this.held.push(c);
      return;
    }
    await this.addCandidate(c);
  }

  private async addCandidate(c: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(c);
    } catch (err) {
      // Candidates of an offer we ignored (impolite side of a collision) are expected to fail.
      if (!this.ignoreOffer) throw err;
    }
  }
}
