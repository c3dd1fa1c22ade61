/** Two PeerLinks wired to each other directly (no server): for negotiation tests. */
import { PeerLink, type OutgoingSignal, type PeerLinkOptions } from '../../src/peer/link.js';

export interface Pipe {
  a: PeerLink;
  b: PeerLink;
  /** Payloads seen on the way a -> b and b -> a (after JSON round-trip, as on the wire). */
  aToB: unknown[];
  bToA: unknown[];
  close(): Promise<void>;
}

export type Deliver = (to: PeerLink, data: unknown) => void;

const wire = (data: OutgoingSignal): unknown => JSON.parse(JSON.stringify(data)) as unknown;

/** Builds links `a` (id "a") and `b` (id "b"); `deliver` may delay, reorder or drop payloads. */
export function pipeLinks(
  options: { a?: Partial<PeerLinkOptions>; b?: Partial<PeerLinkOptions>; deliverToA?: Deliver; deliverToB?: Deliver } = {},
): Pipe {
  const aToB: unknown[] = [];
  const bToA: unknown[] = [];
  const base = { iceServers: [], bindAddress: '127.0.0.1', connectTimeoutMs: 15_000 };
  const toB: Deliver = options.deliverToB ?? ((to, d) => to.handleSignal(d));
  const toA: Deliver = options.deliverToA ?? ((to, d) => to.handleSignal(d));
  // eslint-disable-next-line prefer-const -- links reference each other
  let a: PeerLink;
  const b: PeerLink = new PeerLink({
    ...base,
    remoteId: 'a',
    polite: false,
    initiator: false,
    sendSignal: (d) => {
      const w = wire(d);
      bToA.push(w);
      setImmediate(() => toA(a, w));
    },
    ...options.b,
  });
  a = new PeerLink({
    ...base,
    remoteId: 'b',
    polite: true,
    initiator: true,
    sendSignal: (d) => {
      const w = wire(d);
      aToB.push(w);
      setImmediate(() => toB(b, w));
    },
    ...options.a,
  });
  return { a, b, aToB, bToA, close: async () => void (await Promise.all([a.close(), b.close()])) };
}
