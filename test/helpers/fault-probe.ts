/**
 * Bookkeeping for fault-injection tests: what each client was told about its room (followed from
 * its own frames, as an application would), and a ledger of numbered signals sent, received and
 * answered with an error, so a test can count lost, lost-untold, duplicated and reordered signals.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ServerMessage } from '../../src/protocol/messages.js';
import type { SignalingServer } from '../../src/server/index.js';
import { type Resources, TestClient } from './server-harness.js';

/**
 * The set-up of the signal-stream fault tests: `a` on `n1` and `b` on `n2` joined to `room` (in
 * that order), each followed by a ClientView, and `ready` seen by `a`. `jb` is b's `joined`.
 */
export async function viewedPair(res: Resources, n1: SignalingServer, n2: SignalingServer, room: string) {
  const a = res.client(await TestClient.connect(n1.url));
  const b = res.client(await TestClient.connect(n2.url));
  const av = new ClientView(a);
  const bv = new ClientView(b);
  a.send({ type: 'join', room });
  await a.next('joined');
  b.send({ type: 'join', room });
  const jb = await b.next('joined');
  await a.next('ready');
  return { a, b, av, bv, jb };
}

/**
 * Joins `room`, re-sending the join while the answer is UNAVAILABLE (what a client does while the
 * store is away), `pauseMs` apart, for at most `boundMs`; resolves with the last answer.
 */
export async function joinRetrying(c: TestClient, room: string, extra: Record<string, unknown> = {}, o: { boundMs?: number; pauseMs?: number } = {}): Promise<{ type: string; code?: string }> {
  const deadline = Date.now() + (o.boundMs ?? 10_000);
  for (let id = 1; ; id++) {
    c.send({ type: 'join', room, id, ...extra });
    const f = await c.nextOf(['joined', 'error'], 5000, (x) => x.type === 'joined' || (x.type === 'error' && x.re === id));
    if (f.type === 'joined') return f;
    if (f.code !== 'UNAVAILABLE' || Date.now() > deadline) return f;
    await delay(o.pauseMs ?? 50);
  }
}

/** One client's view of its room and of the signals it got, built from every frame it received. */
export class ClientView {
  self: string | undefined;
  readonly peers = new Set<string>();
  ready = 0;
  /** `data` of every signal received, in arrival order. */
  readonly signals: unknown[] = [];
  /** Error frames: code and `re`. */
  readonly errors: Array<{ code: string; re: unknown }> = [];

  constructor(readonly client: TestClient) {
    client.ws.on('message', (data: Buffer) => {
      const parsed = ServerMessage.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) return;
      const f = parsed.data;
      switch (f.type) {
        case 'joined':
          this.self = f.self.id;
          this.peers.clear();
          for (const p of f.peers) this.peers.add(p.id);
          return;
        case 'peer-joined':
          this.peers.add(f.peer.id);
          return;
        case 'peer-left':
          this.peers.delete(f.peer);
          return;
        case 'ready':
          this.ready++;
          return;
        case 'signal':
          this.signals.push(f.data);
          return;
        case 'error':
          this.errors.push({ code: f.code, re: f.re });
          return;
        default:
      }
    });
  }

  /** The members this client believes are in its room, itself included, sorted. */
  members(): string[] {
    return this.self === undefined ? [] : [this.self, ...this.peers].sort();
  }
}

/** Signals numbered 0..sent-1 from one sender, against what the receiver got and the sender was told. */
export interface Ledger {
  sent: number;
  delivered: number;
  /** Never delivered; the sender got UNAVAILABLE (or UNKNOWN_PEER) for it. */
  lostTold: number;
  /** Never delivered and the sender was not told: must be 0. */
  lostUntold: number;
  /** Delivered more than once. */
  duplicated: number;
  /** Delivered after a higher number. */
  reordered: number;
  /** Delivered although the sender was told it was not (the outcome of a timed-out command is unknown). */
  toldButDelivered: number;
}

/** Counts a numbered stream: `received` is the receiver's signal data in order, `toldIds` the ids answered with an error. */
export function ledger(sent: number, received: readonly unknown[], toldIds: ReadonlySet<unknown>): Ledger {
  const seen = new Map<number, number>();
  let reordered = 0;
  let max = -1;
  for (const d of received) {
    if (typeof d !== 'number') continue;
    seen.set(d, (seen.get(d) ?? 0) + 1);
    if (d < max) reordered++;
    max = Math.max(max, d);
  }
  const out: Ledger = { sent, delivered: seen.size, lostTold: 0, lostUntold: 0, duplicated: 0, reordered, toldButDelivered: 0 };
  for (let i = 0; i < sent; i++) {
    const n = seen.get(i) ?? 0;
    if (n > 1) out.duplicated += n - 1;
    if (n === 0 && toldIds.has(i)) out.lostTold++;
    else if (n === 0) out.lostUntold++;
    else if (toldIds.has(i)) out.toldButDelivered++;
  }
  return out;
}
