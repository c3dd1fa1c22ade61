/**
 * One call: the signaling client, the room's members, a RemotePeer per member (mesh), the local
 * media and its state as this member's `meta` ({"audio":bool,"video":bool}), chat and files.
 *
 * Roles follow docs/protocol.md: on `joined` we are the newcomer and offer to every member in
 * `peers`; a member that joins after us gets a connection when its offer arrives. `ready` says the
 * same for rooms of two and is only used as a check. A resume (same id) keeps every connection; a
 * rejoin (new id after the grace period) starts over as a newcomer.
 */
import { SignalClient, SignalPayload, type JoinedMessage, type Meta, type PeerInfo } from '../../client/browser.js';
import { openCamera, openLocalMedia, openMicrophone } from './media.js';
import { RemotePeer } from './peer.js';
import { StatsSampler } from './stats.js';
import { FileLink } from './transfer.js';
import type { View } from './view.js';

const STATS_EVERY_MS = 2_000;

export interface CallOptions {
  wsUrl: string;
  room: string;
  name: string;
  token: string | undefined;
  relayOnly: boolean;
  capacity: number | undefined;
  view: View;
}

interface Member {
  info: PeerInfo;
  peer: RemotePeer | undefined;
  files: FileLink | undefined;
  sampler: StatsSampler;
}

/** Members whose meta says they have media state are other copies of a media app; the rest (sigctl peer) get a data channel only. */
const hasMedia = (meta: Meta): boolean => 'audio' in meta || 'video' in meta;

export class Call {
  readonly client: SignalClient;
  private readonly members = new Map<string, Member>();
  private self: PeerInfo | undefined;
  private stream = new MediaStream();
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  /** Who the status line last said we are connected to. */
  private connectedTo = '';

  constructor(private readonly o: CallOptions) {
    this.client = new SignalClient({ url: o.wsUrl, token: o.token, reconnect: { maxAttempts: 12 } });
    this.wire();
  }

  /** Opens media, connects and joins. Rejects with the client's SigctlError. */
  async start(): Promise<JoinedMessage> {
    const v = this.o.view;
    v.setState('joining');
    v.say('Opening camera and microphone, connecting…');
    // The devices start while the WebSocket connects; the join waits for both (its meta says what we send).
    const connecting = this.client.connect();
    connecting.catch(() => undefined); // awaited below
    const media = await openLocalMedia();
    this.stream = media.stream;
    v.warn(media.problem);
    this.showLocal();
    await connecting;
    return this.client.join({ room: this.o.room, name: this.o.name, meta: this.meta(), capacity: this.o.capacity });
  }

  /** Leaves the room and releases everything (idempotent). */
  async leave(): Promise<void> {
    clearInterval(this.statsTimer);
    for (const m of this.members.values()) m.peer?.close();
    this.members.clear();
    for (const t of this.stream.getTracks()) t.stop();
    await this.client.close();
  }

  /**
   * Sends a chat line to every member with a data channel; returns how many it goes to. The page
   * says `connected` once the peer connection is, which can be a moment before its channel opens:
   * a line typed then goes out when the channel opens instead of being lost.
   */
  sendChat(text: string): number {
    let n = 0;
    for (const m of this.members.values()) {
      const ch = m.peer?.channel;
      if (ch === undefined || ch.readyState === 'closing' || ch.readyState === 'closed') continue;
      if (ch.readyState === 'open') ch.send(text);
      else ch.addEventListener('open', () => ch.send(text), { once: true });
      n += 1;
    }
    this.o.view.chat('You', text, true);
    return n;
  }

  /** Sends a file to every connected member, one after another. */
  async sendFile(file: File): Promise<void> {
    for (const m of [...this.members.values()]) {
      if (m.files === undefined) continue;
      const id = crypto.randomUUID();
      const key = `sent-${id}`;
      const label = `${file.name} to ${m.info.name}`;
      this.o.view.transfer(key, label, 0, file.size);
      let ok = false;
      try {
        ok = await m.files.send(file, id);
      } catch {
        ok = false;
      }
      this.o.view.transferDone(key, `${label}: ${ok ? 'delivered, SHA-256 confirmed' : 'failed'}`, ok);
    }
  }

  async toggleAudio(): Promise<void> {
    await this.toggle('audio');
  }

  async toggleVideo(): Promise<void> {
    await this.toggle('video');
  }

  // ---- internals ----------------------------------------------------------------------------------

  private meta(): Meta {
    const on = (kind: string): boolean => this.stream.getTracks().some((t) => t.kind === kind && t.enabled && t.readyState === 'live');
    return { audio: on('audio'), video: on('video') };
  }

  private showLocal(): void {
    const m = this.meta();
    this.o.view.showLocal(this.stream, m.audio === true, m.video === true);
  }

  private async toggle(kind: 'audio' | 'video'): Promise<void> {
    const track = this.stream.getTracks().find((t) => t.kind === kind && t.readyState === 'live');
    if (track !== undefined) track.enabled = !track.enabled;
    else {
      try {
        this.stream.addTrack(kind === 'video' ? await openCamera() : await openMicrophone());
      } catch (err) {
        this.o.view.warn(err instanceof Error ? err.message : String(err));
        return;
      }
      // A new track: every media connection renegotiates (whoever turns a device on offers).
      for (const m of this.members.values()) m.peer?.refreshMedia();
    }
    this.showLocal();
    if (this.client.state === 'joined') await this.client.meta(this.meta()).catch(() => undefined);
  }

  private wire(): void {
    const c = this.client;
    const v = this.o.view;
    c.on('joined', (j) => this.onJoined(j));
    c.on('rejoined', (j) => {
      // A new member id: every connection belonged to the old one.
      for (const id of [...this.members.keys()]) this.drop(id);
      this.onJoined(j);
    });
    c.on('resumed', () => v.say(`In room ${this.o.room} (signaling resumed)`));
    c.on('reconnecting', ({ delayMs }) => v.say(`Signaling connection lost; reconnecting in ${Math.round(delayMs / 100) / 10} s…`));
    c.on('bye', ({ reconnectMs }) => v.say(`The server is restarting; reconnecting in ${Math.round(reconnectMs / 100) / 10} s…`));
    c.on('peer-joined', ({ peer }) => {
      this.member(peer);
      v.say(`${peer.name} joined`);
    });
    c.on('peer-left', ({ peer, reason }) => {
      const name = this.members.get(peer)?.info.name ?? peer;
      this.drop(peer);
      v.say(`${name} left (${reason})`);
      this.updateState();
    });
    c.on('peer-updated', ({ peer }) => {
      if (peer.id === this.self?.id) return;
      const m = this.members.get(peer.id);
      if (m === undefined) return;
      m.info = peer;
      v.tile(peer.id, peer.name, peer.meta);
    });
    c.on('ready', ({ offerer, peers }) => {
      // The newcomer offers (we already did on `joined`); a check that no pair is left without an offer.
      if (offerer !== this.self?.id) return;
      for (const id of peers) {
        const m = this.members.get(id);
        if (m !== undefined && m.peer === undefined) this.connect(m, true);
      }
    });
    c.on('signal', ({ from, data }) => {
      const parsed = SignalPayload.safeParse(data);
      if (!parsed.success || this.self === undefined) return; // not a negotiation message: not ours to read
      const m = this.members.get(from) ?? this.member({ id: from, name: from, meta: {} });
      (m.peer ?? this.connect(m, false)).handle(parsed.data);
    });
    c.on('closed', ({ error }) => {
      if (error === undefined) return;
      v.setState('error');
      v.warn(`${error.code}: ${error.message}`);
      v.say('Disconnected');
    });
  }

  private onJoined(j: JoinedMessage): void {
    this.self = j.self;
    this.o.view.say(j.peers.length === 0 ? `In room ${j.room}: waiting for someone to join` : `In room ${j.room}: connecting to ${j.peers.length} member(s)`);
    for (const p of j.peers) this.connect(this.member(p), true);
    this.statsTimer ??= setInterval(() => void this.sampleStats(), STATS_EVERY_MS);
    this.updateState();
  }

  private member(info: PeerInfo): Member {
    let m = this.members.get(info.id);
    if (m === undefined) {
      m = { info, peer: undefined, files: undefined, sampler: new StatsSampler() };
      this.members.set(info.id, m);
    } else m.info = info;
    this.o.view.tile(info.id, info.name, info.meta);
    return m;
  }

  private drop(id: string): void {
    const m = this.members.get(id);
    this.members.delete(id);
    m?.peer?.close();
    this.o.view.remove(id);
  }

  private connect(m: Member, initiator: boolean): RemotePeer {
    const self = this.self!;
    const id = m.info.id;
    const iceServers: RTCIceServer[] = (this.client.welcome?.iceServers ?? []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
    const peer = new RemotePeer({
      id,
      polite: self.id < id,
      initiator,
      media: hasMedia(m.info.meta),
      iceServers,
      relayOnly: this.o.relayOnly,
      local: () => this.stream,
      signal: (data) => {
        // Not connected right now (reconnecting): a lost candidate is survivable.
        if (this.client.state === 'joined') this.client.signal(data, id);
      },
      events: {
        track: () => this.o.view.attach(id, peer.remoteStream),
        channelOpen: (channel) => {
          m.files = new FileLink(channel, {
            progress: (fileId, name, bytes, total, direction) => {
              const key = `${direction}-${fileId}`;
              this.o.view.transfer(key, direction === 'sent' ? `${name} to ${m.info.name}` : `${name} from ${m.info.name}`, bytes, total);
            },
            received: (fileId, name, blob, ok) => this.o.view.transferDone(`received-${fileId}`, `${name} from ${m.info.name}: ${ok ? 'SHA-256 ok' : 'SHA-256 MISMATCH'}`, ok, blob, name),
          });
        },
        message: (data) => {
          if (m.files?.handle(data) === true) return;
          if (typeof data === 'string') this.o.view.chat(m.info.name, data, false);
        },
        state: () => this.updateState(),
        problem: (message) => this.o.view.say(`${m.info.name}: ${message}`),
      },
    });
    m.peer = peer;
    return peer;
  }

  private updateState(): void {
    const v = this.o.view;
    if (v.state === 'error' || this.client.state === 'closed') return;
    if (this.self === undefined) return;
    const names = [...this.members.values()].filter((m) => m.peer?.connected === true).map((m) => m.info.name);
    const state = names.length > 0 ? 'connected' : 'waiting';
    if (state === 'connected' && (v.state !== 'connected' || this.connectedTo !== names.join())) v.say(`In room ${this.o.room} with ${names.join(', ')}`);
    this.connectedTo = names.join();
    v.setState(state);
  }

  private async sampleStats(): Promise<void> {
    for (const [id, m] of this.members) {
      if (m.peer === undefined) continue;
      try {
        this.o.view.stats(id, await m.sampler.sample(m.peer.pc), m.peer.pc);
      } catch {
        // a closed connection: nothing to show
      }
    }
  }
}
