/**
 * A peer session: one member of a room with a werift connection to every other member (mesh).
 * It follows the protocol's convention (docs/protocol.md): the newcomer offers to each member
 * already there; members wait for the newcomer's offer; if offers cross, the smaller id is polite.
 *
 * This is the API `sigctl peer` and `sigctl bench` build on:
 *
 *   const session = createPeerSession({ url, room: 'r1' });
 *   session.on('phase', (e) => ...);            // ws-connected, joined, offer-sent, ..., channel-open
 *   session.on('channel-open', ({ peer, channel }) => channel.send('hi'));
 *   session.on('message', ({ peer, data }) => ...);
 *   await session.start();                       // resolves on `joined`
 *   ...
 *   await session.close();                       // leaves the room, closes every connection
 */
import { SignalClient } from '../client/signal-client.js';
import { systemClock, type Clock } from '../client/clock.js';
import { TypedEmitter } from '../client/typed-emitter.js';
import { SigctlError } from '../protocol/errors.js';
import type { IceServer, JoinedMessage, PeerInfo } from '../protocol/messages.js';
import type { ChannelData, PeerChannel } from './channel.js';
import { encodeSignal, type Dialect } from './dialect.js';
import { KEEPALIVE_MESSAGE, KEEPALIVE_PROTOCOL, startKeepalive } from './keepalive.js';
import type * as LinkModuleNamespace from './link.js';
import type { PeerLink } from './link.js';
import { skippedPatchesWarning } from './patch-status.js';
import type { PeerSessionEvents, PeerSessionOptions } from './session-types.js';
import { checkTurnCredentials } from './turn-check.js';

export { KEEPALIVE_MESSAGE, KEEPALIVE_PROTOCOL } from './keepalive.js';
export type { PeerConnected, PeerSessionEvents, PeerSessionOptions, PhaseEvent, SessionPhase } from './session-types.js';

type LinkModule = typeof LinkModuleNamespace;
let linkModule: Promise<LinkModule> | undefined;
/**
 * ./link.js and with it werift (most of a fresh process's module evaluation: docs/werift-patches.md,
 * "A fresh `sigctl peer` process", measured by `npm run bench:peer-startup`) are loaded on
 * first use, so a session starts its WebSocket connect while werift is still loading.
 */
function loadLinkModule(): Promise<LinkModule> {
  linkModule ??= import('./link.js');
  return linkModule;
}

interface Member {
  info: PeerInfo;
  link: PeerLink | undefined;
}

/** Creates a session (not started). */
export function createPeerSession(options: PeerSessionOptions): PeerSession {
  return new PeerSession(options);
}

/** One member of a room with a data channel to every other member. */
export class PeerSession extends TypedEmitter<PeerSessionEvents> {
  readonly client: SignalClient;
  private readonly options: PeerSessionOptions;
  private readonly clock: Clock;
  private readonly members = new Map<string, Member>();
  private selfInfo: PeerInfo | undefined;
  private times = { startedAt: 0, wsConnectedAt: 0, joinedAt: 0 };
  private closing: Promise<void> | undefined;
  private ended = false;
  /** Aborts start-up work (the TURN credential check) when the session closes. */
  private readonly aborter = new AbortController();
  /** The PeerLink class, set by start() before the join (links exist only after it). */
  private linkClass: LinkModule['PeerLink'] | undefined;

  constructor(options: PeerSessionOptions) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
    if (options.client !== undefined) this.client = options.client;
    else if (options.url !== undefined) {
      this.client = new SignalClient({
        url: options.url,
        token: options.token,
        tokenIn: options.tokenIn,
        connectTimeoutMs: options.connectTimeoutMs,
        reconnect: options.reconnect,
        clock: this.clock,
        logger: options.logger,
        wsOptions: options.wsOptions,
      });
    } else throw new SigctlError('USAGE', 'createPeerSession needs a url or a client');
    this.wireClient();
  }

  /** This member, once joined. */
  get self(): PeerInfo | undefined {
    return this.selfInfo;
  }

  /** Other members of the room and whether their channel is open. */
  peers(): Array<{ info: PeerInfo; connected: boolean }> {
    return [...this.members.values()].map((m) => ({ info: m.info, connected: m.link?.channel !== undefined }));
  }

  /** The open data channel to `peer`, if any. */
  channel(peer: string): PeerChannel | undefined {
    return this.members.get(peer)?.link?.channel;
  }

  /** Sends to every peer whose channel is open; returns how many got it. */
  broadcast(data: ChannelData): number {
    let n = 0;
    for (const m of this.members.values()) {
      const ch = m.link?.channel;
      if (ch === undefined) continue;
      ch.send(data);
      n += 1;
    }
    return n;
  }

  /** Connects, joins the room and starts negotiating with the members already there. */
  async start(): Promise<JoinedMessage> {
    this.times.startedAt = this.clock.now();
    // werift loads while the WebSocket connects (ESM loading reads files asynchronously, so the
    // upgrade round trip overlaps it); the join waits for it so that links can be made at once.
    const links = loadLinkModule();
    links.catch(() => undefined); // awaited below; a connect failure must not leave it unhandled
    const welcome = await this.client.connect();
    this.times.wsConnectedAt = this.clock.now();
    this.emit('phase', { phase: 'ws-connected', at: this.times.wsConnectedAt });
    if (this.options.relayOnly === true && !this.iceServers(welcome.iceServers).some(isTurn)) {
      const error = new SigctlError('NO_RELAY_CANDIDATES', '--relay-only needs a TURN server, but the signaling server offered none and no --ice-server turn: URL was given');
      await this.close();
      throw error;
    }
    if (this.options.relayOnly === true && this.options.turnCheck !== false) {
      // Name a refused TURN credential now, on both ends of the room, instead of letting werift
      // stall in gathering and then report only "no relay candidate" (or nothing, when answering).
      try {
        // Bounded by the gather limit too: a TURN server silent for that long would not yield a
        // relay candidate either, so the pre-flight fails it (NO_RELAY_CANDIDATES) instead.
        const timeoutMs = Math.min(this.options.gatherTimeoutMs ?? 10_000, 3_000);
        await checkTurnCredentials(this.iceServers(welcome.iceServers), { signal: this.aborter.signal, timeoutMs });
      } catch (err) {
        await this.close();
        throw err;
      }
    }
    const mod = await links;
    this.linkClass = mod.PeerLink;
    const joining = this.client.join({ room: this.options.room, name: this.options.name, meta: this.options.meta, capacity: this.options.capacity });
    // The join frame is on its way: the runtime patches and the DTLS certificate are made during
    // its round trip (the reply is handled after this synchronous call), not before the first offer.
    joining.catch(() => undefined); // awaited below; handled even if prepareWerift() throws
    const patches = mod.prepareWerift();
    // A skipped runtime patch is a warning in the session's log (werift works, without that fix).
    const warning = skippedPatchesWarning(patches);
    if (warning !== undefined) this.options.logger?.warn({ skipped: patches.skipped, weriftVersion: patches.weriftVersion }, warning);
    const joined = await joining;
    this.emit('patches', patches);
    return joined;
  }

  /** Leaves the room and closes every connection (idempotent). */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.aborter.abort();
    this.closing = (async () => {
      const links = [...this.members.values()].map((m) => m.link).filter((l): l is PeerLink => l !== undefined);
      this.members.clear();
      await Promise.all([this.client.close(), ...links.map((l) => l.close())]);
      this.end(undefined);
    })();
    return this.closing;
  }

  // ---- internals ----------------------------------------------------------------------------------

  private end(error: SigctlError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('closed', { error });
  }

  private keepaliveMs(): number {
    return this.options.keepaliveMs ?? 2_000;
  }

  private iceServers(fromWelcome: readonly IceServer[]): IceServer[] {
    return [...fromWelcome, ...(this.options.iceServers ?? [])];
  }

  private wireClient(): void {
    const c = this.client;
    c.on('joined', (joined) => this.onJoined(joined, false));
    c.on('rejoined', (joined) => this.onJoined(joined, true));
    c.on('resumed', (joined) => this.emit('resumed', joined));
    c.on('reconnecting', (e) => this.emit('reconnecting', e));
    c.on('error', (e) => this.emit('error', e));
    c.on('peer-joined', ({ peer }) => {
      // The newcomer offers: we only make room for its offer.
      this.members.set(peer.id, { info: peer, link: this.members.get(peer.id)?.link });
      this.emit('peer-joined', peer);
    });
    c.on('peer-updated', ({ peer }) => {
      const m = this.members.get(peer.id);
      if (m !== undefined) m.info = peer;
    });
    c.on('peer-left', ({ peer, reason }) => {
      const m = this.members.get(peer);
      if (m === undefined) return;
      this.members.delete(peer);
      void m.link?.close();
      this.emit('peer-left', { peer, name: m.info.name, reason });
    });
    c.on('signal', ({ from, data }) => {
      if (this.selfInfo === undefined || this.closing !== undefined) return;
      let m = this.members.get(from);
      if (m === undefined) {
        // A signal can overtake nothing on one connection, but after a resume the queue may hold
        // signals from a member we never saw join: accept it as a member.
        m = { info: { id: from, name: from, meta: {} }, link: undefined };
        this.members.set(from, m);
      }
      if (m.link === undefined) m.link = this.createLink(m.info, false);
      m.link.handleSignal(data);
    });
    c.on('closed', ({ error }) => {
      if (error === undefined) return; // close(): handled there
      void this.closeLinks().then(() => this.end(error));
    });
  }

  private async closeLinks(): Promise<void> {
    const links = [...this.members.values()].map((m) => m.link).filter((l): l is PeerLink => l !== undefined);
    this.members.clear();
    await Promise.all(links.map((l) => l.close()));
  }

  private onJoined(joined: JoinedMessage, rejoined: boolean): void {
    if (rejoined) {
      // The server gave us a new id: every old connection belongs to a member that no longer exists.
      void this.closeLinks();
    }
    this.selfInfo = joined.self;
    this.times.joinedAt = this.clock.now();
    this.emit('phase', { phase: 'joined', at: this.times.joinedAt });
    this.emit('joined', joined);
    for (const peer of joined.peers) {
      const m: Member = { info: peer, link: undefined };
      this.members.set(peer.id, m);
      m.link = this.createLink(peer, true);
      m.link.start();
    }
  }

  private createLink(peer: PeerInfo, initiator: boolean): PeerLink {
    const self = this.selfInfo;
    if (self === undefined) throw new SigctlError('INTERNAL', 'createLink before joined');
    const welcome = this.client.welcome;
    const PeerLinkClass = this.linkClass;
    if (PeerLinkClass === undefined) throw new SigctlError('INTERNAL', 'createLink before start() loaded werift');
    let speaking = (): Dialect => this.options.dialect ?? 'sigctl';
    const link = new PeerLinkClass({
      remoteId: peer.id,
      dialect: this.options.dialect,
      polite: self.id < peer.id,
      initiator,
      iceServers: this.iceServers(welcome?.iceServers ?? []),
      relayOnly: this.options.relayOnly,
      loopback: this.options.loopback,
      bindAddress: this.options.bindAddress,
      ordered: this.options.ordered,
      clock: this.clock,
      connectTimeoutMs: this.options.iceTimeoutMs,
      gatherTimeoutMs: this.options.gatherTimeoutMs,
      maxRestarts: this.options.maxRestarts,
      channelProtocol: this.keepaliveMs() > 0 ? KEEPALIVE_PROTOCOL : undefined,
      sendSignal: (signal) => {
        try {
          const data = encodeSignal(signal, speaking(), self.id);
          if (data !== undefined && this.client.state === 'joined') this.client.signal(data, peer.id);
        } catch (err) {
          // Not connected right now (reconnecting): ICE trickles on; a lost candidate is survivable
          // and a lost description is retried by the link's restart.
          this.options.logger?.debug({ err: err instanceof Error ? err.message : String(err), peer: peer.id }, 'signal not sent');
        }
      },
    });
    speaking = () => link.dialect;
    const name = (): string => this.members.get(peer.id)?.info.name ?? peer.name;
    link.on('phase', (phase, at) => this.emit('phase', { phase, at, peer: peer.id }));
    const info = this.members.get(peer.id)?.info ?? peer;
    const deadAfterMs = this.options.deadAfterMs ?? 8_000;
    const ka = startKeepalive({
      link,
      everyMs: this.keepaliveMs(),
      deadAfterMs,
      clock: this.clock,
      stopped: () => this.closing !== undefined,
      onDead: () => {
        const m = this.members.get(peer.id);
        if (m?.link === link) m.link = undefined;
        const error = new SigctlError('CONNECTION_LOST', `peer ${info.name} went silent on the data channel for ${deadAfterMs / 1000} s`, { details: { peer: peer.id } });
        void link.close();
        this.emit('peer-failed', { peer: peer.id, name: m?.info.name ?? info.name, error });
      },
    });
    link.on('channel-open', (channel) => {
      // A channel the far end opened as a sigctl peer: it pings us too.
      if (channel.raw.isCreatedByRemote && channel.raw.protocol === KEEPALIVE_PROTOCOL) ka.enable();
      ka.heard();
      this.emit('channel-open', { peer: peer.id, name: name(), channel });
    });
    link.on('connected', (report) => this.emit('peer-connected', { ...report, name: name(), session: { ...this.times } }));
    link.on('message', (data) => {
      if (data === KEEPALIVE_MESSAGE) ka.enable();
      ka.heard();
      if (data === KEEPALIVE_MESSAGE) return;
      this.emit('message', { peer: peer.id, name: name(), data });
    });
    link.on('closed', () => ka.stop());
    link.on('signal-error', (error) => this.emit('error', error));
    link.on('failed', (error) => {
      const m = this.members.get(peer.id);
      if (m?.link === link) m.link = undefined;
      this.emit('peer-failed', { peer: peer.id, name: name(), error });
    });
    return link;
  }
}

function isTurn(server: IceServer): boolean {
  const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
  return urls.some((u) => /^turns?:/.test(u));
}
