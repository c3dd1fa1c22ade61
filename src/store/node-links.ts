/**
 * Direct links between the nodes of a cluster: a node sends the messages for another node over a
 * WebSocket to it instead of through Redis pub/sub (docs/scaling.md, "Node links"). Why: a
 * cross-node signal over Redis costs the sending node a PUBLISH and the read of its reply, Redis
 * a read and a write, and the receiving node a read; over a link it costs one write and one read.
 *
 * Each node listens on its own port (not the public one) and advertises `{host, port, token}` in
 * Redis with its heartbeat. A node dials another the first time it has a signal for it, and sends
 * on its own outgoing link only (the other node dials back for its own traffic).
 *
 * The guarantees of the Redis path are kept:
 *
 * - **Order per sender.** Once a link is synced, *every* message for that node goes over it: the
 *   signals addressed to it, and a copy of each room-channel message (whose Redis copy then names
 *   the node in `skip`, and the node drops it). The switch is ordered by the marker
 *   (node-link-wire.ts): published over Redis right before the link's first message, it reaches
 *   the other node after everything published before it, and that node holds the link's messages
 *   until the marker is in.
 * - **Nothing lost when a link breaks.** The receiver acknowledges what it handed over (`ack
 *   <seq>`, at most every ACK_MS). A link that closes, or leaves a message unacknowledged for
 *   `timeoutMs`, is dropped; its unacknowledged messages are re-sent over Redis on the node's
 *   channel, in order, before anything newer. The receiver drops those it already had: their
 *   stamp is not newer than the last it took from that node for their room, the check that drops
 *   any late re-send (redis-channels.ts `late`). The node is dialled again after a back-off.
 *
 * A sender's callers learn the outcome as over Redis: one receiver once the other node
 * acknowledged, or what the Redis re-send reached.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { IncomingMessage } from 'node:http';
import { ackMessage, bundle, LinkClose, linkRequestHeaders, parseAck, parseLinkRequest, unbundle, type LinkAddress } from './node-link-wire.js';
import { messageHead, type MessageHead } from './redis-envelope.js';

/** A caller waiting for its message to reach the other node. */
export interface Waiter {
  resolve(receivers: number): void;
  reject(err: unknown): void;
}

/** A message sent on a link and not acknowledged yet. */
export interface Unacked {
  readonly seq: number;
  readonly message: string;
  readonly waiters: readonly Waiter[];
  readonly sentAt: number;
}

export interface NodeLinksOptions {
  nodeId: string;
  /** Address to listen on, advertised to the other nodes. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /**
   * Least time between two writes on a link (config redis.links.coalesceMs): a message queued
   * sooner after the last write waits for the rest of it, with whatever else queues meanwhile. 0:
   * each event-loop turn's messages go in one write at the end of the turn.
   */
  coalesceMs: number;
  /** Longest wait for a link to open, and for the acknowledgement of a message (config redis.timeoutMs), counted from its write. */
  timeoutMs: number;
  logger: Logger | undefined;
  now?: () => number;
  /** The link address `node` advertised (in Redis); undefined when it has none. */
  lookup(node: string): Promise<LinkAddress | undefined>;
  /** A message that came over a link, in order, after its marker. */
  deliver(message: string, head: MessageHead): void;
  /** Messages of a broken link, unacknowledged: to be re-sent over Redis to `node`, in order, now. */
  fallback(node: string, entries: readonly Unacked[]): void;
  /** A link is open: its marker goes out before the next message (takeOpened). */
  opened(): void;
}

/** How long a receiver may sit on acknowledgements (they are cumulative: one per period at most). */
const ACK_MS = 20;
/** A link that broke is dialled again after this, doubling per failure up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** Largest link message (a turn's messages for one node); ws's default. */
const MAX_PAYLOAD = 100 * 1024 * 1024;
/** Messages a listener holds while it waits for a link's marker. */
const MAX_HELD = 100_000;

class OutLink {
  state: 'dialing' | 'open' | 'synced' | 'closed' = 'dialing';
  ws: WebSocket | undefined;
  readonly id = randomBytes(8).toString('hex');
  unacked: Unacked[] = [];
  /** Link messages written (each one write, carrying one message or a bundle). */
  writes = 0;
  ackTimer: NodeJS.Timeout | undefined;
  /** Messages waiting for the end of the turn, or of the coalescing wait: they go in one write. */
  queued: string[] = [];
  writeScheduled = false;
  /** The coalescing wait's timer, when the next write waits for one. */
  writeTimer: NodeJS.Timeout | undefined;
  /** When the last write went (now()), for coalesceMs. */
  lastWrite = -Infinity;
  constructor(readonly node: string) {}
}

interface InLink {
  readonly origin: string;
  readonly id: string;
  readonly ws: WebSocket;
  synced: boolean;
  held: string[];
  /** The seq of the last message handed over, and of the last acknowledged. */
  handed: number;
  acked: number;
  ackTimer: NodeJS.Timeout | undefined;
}

function text(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString();
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.from(data).toString();
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** This node's links: the listener, the links it dialled, and the ones dialled to it. */
export class NodeLinks {
  private server: WebSocketServer | undefined;
  private addressValue: LinkAddress | undefined;
  private readonly token = randomBytes(16).toString('hex');
  private readonly out = new Map<string, OutLink>();
  private readonly in = new Map<string, InLink>();
  private readonly backoff = new Map<string, { until: number; delay: number }>();
  private readonly now: () => number;
  private closed = false;
  /** Between beginTurn and endTurn: links with messages to write when the turn's sending ends. */
  private turn: OutLink[] | undefined;

  constructor(private readonly o: NodeLinksOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Where the other nodes reach this one (undefined before start). */
  get address(): LinkAddress | undefined {
    return this.addressValue;
  }

  async start(): Promise<void> {
    // The token is checked at the upgrade: without it nobody gets to send a frame (of up to MAX_PAYLOAD).
    const server = new WebSocketServer({ host: this.o.host, port: this.o.port, perMessageDeflate: false, maxPayload: MAX_PAYLOAD, verifyClient: ({ req }: { req: IncomingMessage }) => this.admits(req) });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', (err) => this.o.logger?.warn({ err: err.message }, 'node link listener error'));
    server.on('connection', (ws, req) => this.accept(ws, req));
    this.addressValue = { host: this.o.host, port: (server.address() as AddressInfo).port, token: this.token };
    this.o.logger?.info({ event: 'links-listening', host: this.o.host, port: this.addressValue.port }, 'listening for links from the other nodes');
  }

  /** True when messages for `node` go over its link. */
  synced(node: string): boolean {
    return this.out.get(node)?.state === 'synced';
  }

  /** The nodes whose messages go over a link. */
  syncedNodes(): string[] {
    const nodes: string[] = [];
    for (const l of this.out.values()) if (l.state === 'synced') nodes.push(l.node);
    return nodes;
  }

  /** There is traffic for `node`: dial it unless a link exists or a failed one is backing off. */
  want(node: string): void {
    if (this.closed || this.out.has(node) || node === this.o.nodeId) return;
    const b = this.backoff.get(node);
    if (b !== undefined && this.now() < b.until) return;
    const link = new OutLink(node);
    this.out.set(node, link);
    this.dial(link).catch((err: unknown) => this.lost(link, (err as Error).message));
  }

  /** The links that opened since the last call: the caller publishes their markers, then calls markerSent. */
  takeOpened(): Array<{ node: string; link: string }> {
    const opened: Array<{ node: string; link: string }> = [];
    for (const l of this.out.values()) if (l.state === 'open') opened.push({ node: l.node, link: l.id });
    return opened;
  }

  /** The marker of `link` is on its way: from now on `node`'s messages go over it. */
  markerSent(node: string, link: string): void {
    const l = this.out.get(node);
    if (l?.id === link && l.state === 'open') l.state = 'synced';
  }

  /** The marker of `link` could not be published: the link is dropped (its messages go over Redis). */
  markerFailed(node: string, link: string, why: string): void {
    const l = this.out.get(node);
    if (l?.id === link) this.lost(l, `its marker was not delivered (${why})`);
  }

  /** Sends message `seq` on `node`'s synced link; `waiters` learn the outcome on its acknowledgement. */
  send(node: string, seq: number, message: string, waiters: readonly Waiter[]): void {
    const l = this.out.get(node);
    if (l === undefined || l.state !== 'synced' || l.ws === undefined) throw new Error(`no synced link to node ${node}`);
    l.unacked.push({ seq, message, waiters, sentAt: this.now() });
    l.queued.push(message);
    if (!l.writeScheduled) {
      l.writeScheduled = true;
      const wait = l.lastWrite + this.o.coalesceMs - this.now();
      if (wait > 0) l.writeTimer = setTimeout(() => this.write(l), wait);
      else if (this.turn !== undefined) this.turn.push(l);
      else setImmediate(() => this.write(l));
    }
    if (l.ackTimer === undefined) this.armAckDeadline(l);
  }

  /**
   * The caller starts sending a turn's messages (RoomChannels.flush, itself at the end of the
   * turn): what send() queues meanwhile for a link with no coalescing wait is written at endTurn,
   * in one write per link, instead of by a setImmediate. Why: that immediate ran on the next pass
   * of the event loop, and the pass it forced (a poll that finds nothing) cost a system call per
   * turn.
   */
  beginTurn(): void {
    this.turn ??= [];
  }

  /** Writes what the turn queued (see beginTurn). */
  endTurn(): void {
    const due = this.turn;
    this.turn = undefined;
    if (due !== undefined) for (const l of due) this.write(l);
  }

  private write(l: OutLink): void {
    l.writeScheduled = false;
    l.writeTimer = undefined;
    if (l.state !== 'synced' || l.ws === undefined || l.queued.length === 0) return;
    l.ws.send(bundle(l.queued));
    l.queued = [];
    l.lastWrite = this.now();
    l.writes++;
  }

  /**
   * Whether a message that came over Redis is to be taken: not when it names this node in `skip`
   * (its copy came, or comes, over the link, in its place among that node's messages).
   */
  fromRedis(head: MessageHead): boolean {
    return head.skip?.includes(this.o.nodeId) !== true;
  }

  /** A marker came over Redis: the link it names may hand its messages over. */
  marker(origin: string, link: string): void {
    const l = this.in.get(origin);
    if (l?.id !== link || l.synced) return;
    l.synced = true;
    const held = l.held;
    l.held = [];
    for (const m of held) if (!this.take(l, m)) return;
  }

  /** Links for the admin view and tests: state and unacknowledged count per dialled node, synced per listener. */
  stats(): { out: Array<{ node: string; state: string; unacked: number; writes: number }>; in: Array<{ origin: string; synced: boolean }> } {
    return {
      out: [...this.out.values()].map((l) => ({ node: l.node, state: l.state, unacked: l.unacked.length, writes: l.writes })),
      in: [...this.in.values()].map((l) => ({ origin: l.origin, synced: l.synced })),
    };
  }

  /** Drops every link to and from `node` as a broken connection would (tests, operators). */
  drop(node: string): void {
    this.out.get(node)?.ws?.terminate();
    this.in.get(node)?.ws.terminate();
  }

  /** Closes every link and the listener; unacknowledged messages fail. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of [...this.out.values()]) {
      l.state = 'closed';
      clearTimeout(l.ackTimer);
      clearTimeout(l.writeTimer);
      l.ws?.terminate();
      for (const u of l.unacked) for (const w of u.waiters) w.reject(new Error('the node is closing'));
    }
    this.out.clear();
    for (const l of this.in.values()) {
      clearTimeout(l.ackTimer);
      l.ws.terminate();
    }
    this.in.clear();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async dial(link: OutLink): Promise<void> {
    const addr = await this.o.lookup(link.node);
    if (link.state === 'closed') return;
    if (addr === undefined) throw new Error('it advertises no link address (links off, or an older version)');
    const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
    const ws = new WebSocket(`ws://${host}:${addr.port}/`, {
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD,
      handshakeTimeout: this.o.timeoutMs,
      headers: linkRequestHeaders(this.o.nodeId, link.id, addr.token),
      // An all-zero mask: ws then skips masking each message, and the listener unmasking it.
      // Masking protects proxies from what a browser's script sends; a link is node to node.
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    link.ws = ws;
    // Open means admitted: the listener took the link in before it answered the upgrade.
    ws.on('open', () => {
      link.state = 'open';
      this.o.opened();
    });
    ws.on('unexpected-response', (_req, res) => this.lost(link, `refused (${res.statusCode ?? '?'})`));
    ws.on('message', (data) => {
      const seq = parseAck(text(data));
      if (seq === undefined) return this.lost(link, 'unexpected message');
      this.acked(link, seq);
    });
    ws.on('close', (code) => this.lost(link, `closed (${code})`));
    ws.on('error', (err) => this.o.logger?.debug({ node: link.node, err: err.message }, 'node link error'));
  }

  private acked(link: OutLink, seq: number): void {
    let n = 0;
    while (n < link.unacked.length && link.unacked[n]!.seq <= seq) n++;
    if (n === 0) return;
    const done = link.unacked.splice(0, n);
    this.backoff.delete(link.node);
    for (const u of done) for (const w of u.waiters) w.resolve(1);
    clearTimeout(link.ackTimer);
    link.ackTimer = undefined;
    if (link.unacked.length > 0) this.armAckDeadline(link);
  }

  private armAckDeadline(link: OutLink): void {
    const oldest = link.unacked[0];
    if (oldest === undefined) return;
    // Counted from its write, which is at most coalesceMs after it was queued.
    const wait = Math.max(0, oldest.sentAt + this.o.coalesceMs + this.o.timeoutMs - this.now());
    link.ackTimer = setTimeout(() => {
      link.ackTimer = undefined;
      if (link.unacked[0] === oldest) this.lost(link, `a message was not acknowledged within ${this.o.timeoutMs} ms of its write`);
      else this.armAckDeadline(link);
    }, wait);
  }

  /** The link is gone: its unacknowledged messages go over Redis, and the node is dialled again after a back-off. */
  private lost(link: OutLink, why: string): void {
    if (link.state === 'closed' || this.closed) return;
    const wasSynced = link.state === 'synced';
    link.state = 'closed';
    clearTimeout(link.ackTimer);
    clearTimeout(link.writeTimer);
    link.queued = [];
    if (this.out.get(link.node) === link) this.out.delete(link.node);
    link.ws?.terminate();
    const delay = Math.min((this.backoff.get(link.node)?.delay ?? FIRST_BACKOFF_MS / 2) * 2, MAX_BACKOFF_MS);
    this.backoff.set(link.node, { until: this.now() + delay, delay });
    const entries = link.unacked;
    link.unacked = [];
    const fields = { node: link.node, why, resent: entries.length, retryInMs: delay };
    if (wasSynced) this.o.logger?.warn(fields, 'link to a node lost: its messages go over Redis until it is back');
    else this.o.logger?.debug(fields, 'no link to a node: its messages go over Redis');
    if (entries.length > 0) this.o.fallback(link.node, entries);
  }

  /** Whether an upgrade request carries this node's token and names its dialler and link. */
  private admits(req: IncomingMessage): boolean {
    const r = parseLinkRequest(req.headers);
    if (r !== undefined && sameToken(r.token, this.token)) return true;
    // The node id is logged only when it is one (the header is the dialler's); the token never.
    this.o.logger?.warn({ code: 'UNAUTHORIZED', origin: r?.origin ?? '(none)' }, 'refused a node link: wrong or missing token');
    return false;
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const r = parseLinkRequest(req.headers);
    if (r === undefined) return ws.close(LinkClose.malformed, 'malformed request'); // admits() let it through: never
    const old = this.in.get(r.origin);
    if (old !== undefined) {
      clearTimeout(old.ackTimer);
      old.ws.close(LinkClose.superseded, 'superseded');
    }
    const link: InLink = { origin: r.origin, id: r.link, ws, synced: false, held: [], handed: 0, acked: 0, ackTimer: undefined };
    this.in.set(r.origin, link);
    ws.on('message', (data) => {
      const messages = unbundle(text(data));
      if (messages === undefined) {
        this.o.logger?.warn({ code: 'INTERNAL', origin: link.origin }, 'dropped a node link that sent a malformed bundle');
        return ws.close(LinkClose.malformed, 'malformed bundle');
      }
      if (!link.synced) {
        link.held.push(...messages);
        if (link.held.length > MAX_HELD) ws.close(LinkClose.malformed, 'no marker');
        return;
      }
      for (const m of messages) if (!this.take(link, m)) return;
    });
    ws.on('close', () => {
      clearTimeout(link.ackTimer);
      if (this.in.get(link.origin) === link) this.in.delete(link.origin);
    });
    ws.on('error', (err) => this.o.logger?.debug({ err: err.message }, 'node link error'));
  }

  /** Hands one link message over; false (and the link closed) when it is not a stamped message of the link's origin. */
  private take(link: InLink, message: string): boolean {
    const head = messageHead(message);
    if (head?.origin !== link.origin || head.stamp === undefined) {
      this.o.logger?.warn({ code: 'INTERNAL', origin: link.origin }, 'dropped a node link that sent a malformed message');
      link.ws.close(LinkClose.malformed, 'malformed message');
      return false;
    }
    link.handed = head.stamp.seq;
    this.o.deliver(message, head);
    link.ackTimer ??= setTimeout(() => {
      link.ackTimer = undefined;
      if (link.handed !== link.acked && link.ws.readyState === WebSocket.OPEN) {
        link.acked = link.handed;
        link.ws.send(ackMessage(link.handed));
      }
    }, ACK_MS);
    return true;
  }
}
