/**
 * The werift engine: werift peers through the peer session API (src/peer), exactly as `sigctl
 * peer` connects, never a negotiation of its own. Loaded only inside a peer worker; the two peers
 * of a pair are in different workers.
 */
import { createPeerSession, prepareWerift, weriftPatchStatus, type PeerChannel, type PeerConnected, type PeerSession } from '../peer/index.js';
import { prewarmWerift } from '../peer/patches/index.js';
import { SigctlError } from '../protocol/errors.js';
import type { BenchChannel, ConnectedNewcomer, FirstPeer, PairEngine, PairSpec } from './engine-types.js';
import { within } from './within.js';
import type { EnginePatches, PairResult } from './peer-messages.js';

function wrap(channel: PeerChannel): BenchChannel {
  return {
    get isOpen() {
      return channel.isOpen;
    },
    get bufferedAmount() {
      return channel.bufferedAmount;
    },
    get ordered() {
      return channel.raw.ordered;
    },
    send: (data) => channel.send(data),
    sendWithBackpressure: (data, options) => channel.sendWithBackpressure(data, options),
    onMessage: (listener) => channel.onMessage(listener),
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

class WeriftEngine implements PairEngine {
  readonly name = 'werift' as const;
  private readonly sessions = new Set<PeerSession>();
  private closed = false;

  async warmUp(): Promise<void> {
    // The runtime patches first, through the one factory (as `sigctl peer` applies them), so the
    // report says what the measured peers ran with.
    prepareWerift();
    // A fresh worker would otherwise charge its first pairs for werift's certificate generation and
    // JIT warm-up: a cost of this bench's worker, not of the deployment under test.
    await prewarmWerift({ handshake: true, timeoutMs: 5_000 }).catch(() => false);
  }

  private session(url: string, spec: PairSpec, name: string): PeerSession {
    if (this.closed) throw new SigctlError('ABORTED', 'closing');
    const session = createPeerSession({
      url,
      room: spec.room,
      name,
      capacity: 2,
      reconnect: false,
      maxRestarts: 0,
      // No keepalive pings on the measured channel: the bench owns every message on it.
      keepaliveMs: 0,
      ordered: spec.ordered,
      iceTimeoutMs: spec.timeoutMs,
      connectTimeoutMs: spec.timeoutMs,
      ...(spec.bindAddress === undefined ? {} : { bindAddress: spec.bindAddress }),
      ...(spec.token === undefined ? {} : { token: spec.token, tokenIn: 'header' as const }),
    });
    this.sessions.add(session);
    return session;
  }

  async joinFirst(spec: PairSpec): Promise<FirstPeer> {
    const first = this.session(spec.urls[0], spec, `a${spec.index}`);
    const open = within<PeerChannel>(spec.timeoutMs, "the first peer's channel", (resolve) => first.on('channel-open', ({ channel }) => resolve(channel)));
    // Awaited by the caller later; until then a rejection (the pair failed earlier) must not go unhandled.
    open.catch(() => undefined);
    await first.start();
    return { open: open.then(wrap) };
  }

  async connectNewcomer(spec: PairSpec): Promise<ConnectedNewcomer> {
    const second = this.session(spec.urls[1], spec, `b${spec.index}`);
    const connected = within<{ report: PeerConnected; channel: PeerChannel }>(spec.timeoutMs, "the pair's data channel", (resolve, reject) => {
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
    const { report, channel } = await connected;
    return {
      sender: wrap(channel),
      at: phasesOf(report),
      candidatePair: report.pair === undefined ? null : `${report.pair.local}/${report.pair.remote} (${report.pair.type})`,
    };
  }

  patches(): EnginePatches | undefined {
    const status = weriftPatchStatus();
    if (status === undefined) return undefined;
    return { ...(status.weriftVersion === undefined ? {} : { weriftVersion: status.weriftVersion }), targetVersion: status.targetVersion, applied: [...status.applied], skipped: status.skipped.map((s) => ({ ...s })) };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sessions].map((s) => Promise.race([s.close(), new Promise((r) => setTimeout(r, 5_000))])));
  }
}

/** Creates the werift engine of a peer worker. */
export function createWeriftEngine(): PairEngine {
  return new WeriftEngine();
}
