/** PeerSessions for tests: loopback-only ICE, short limits, all closed by closeAll(). */
import { createPeerSession, type PeerSession, type PeerSessionOptions, type PeerConnected } from '../../src/peer/index.js';
import { nextEvent } from './peer-timeout.js';

export class SessionPool {
  private readonly sessions: PeerSession[] = [];

  constructor(private readonly url: () => string) {}

  create(room: string, options: Partial<PeerSessionOptions> = {}): PeerSession {
    const s = createPeerSession({
      url: this.url(),
      room,
      bindAddress: '127.0.0.1',
      connectTimeoutMs: 3_000,
      iceTimeoutMs: 10_000,
      reconnect: { baseMs: 100, capMs: 300, maxAttempts: 5 },
      ...options,
    });
    this.sessions.push(s);
    return s;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.sessions.splice(0).map((s) => s.close()));
  }
}

/** Collects `peer-connected` events of `session` until `count` have arrived. */
export function connectedPeers(session: PeerSession, count: number, ms: number): Promise<[PeerConnected, ...PeerConnected[]]> {
  const got: PeerConnected[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms: ${got.length}/${count} peers connected`));
    }, ms);
    const off = session.on('peer-connected', (p) => {
      got.push(p);
      if (got.length >= count) {
        clearTimeout(timer);
        off();
        resolve(got as [PeerConnected, ...PeerConnected[]]);
      }
    });
  });
}

/** Sends `text` from `from` to `to` over their channel and resolves with what `to` received. */
export async function roundTrip(from: PeerSession, to: PeerSession, text: string, ms = 5_000): Promise<string> {
  const toId = to.self?.id ?? '';
  const fromId = from.self?.id ?? '';
  const got = nextEvent(to, 'message', ms, (m) => m.peer === fromId);
  const ch = from.channel(toId);
  if (ch === undefined) throw new Error(`no open channel ${fromId} -> ${toId}`);
  ch.send(text);
  const [m] = await got;
  return m.data.toString();
}
