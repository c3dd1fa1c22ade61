/**
 * Prometheus metrics of one server, in a registry of its own (several servers run in one test
 * process; the global registry would clash).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds buckets for join (store round trip) and relay (receive to send) latency. */
const JOIN_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const RELAY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];

/** What the size gauges show, read at each scrape. */
export interface ServerSizes {
  connections: number;
  rooms: number;
  members: number;
  /** Other nodes this one sends to over a direct link (0 without links). */
  nodeLinks: number;
}

/** The metrics of one server and their registry. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly rooms: Gauge;
  readonly members: Gauge;
  readonly nodeLinks: Gauge;
  readonly joins: Counter<'result'>;
  readonly relayed: Counter;
  /**
   * Relayed signals not yet added to `relayed`: the relay path increments this plain number
   * (Counter.inc allocates a labels object and a result per call) and a scrape adds it.
   */
  relayedPending = 0;
  readonly errors: Counter<'code'>;
  readonly joinSeconds: Histogram;
  readonly relaySeconds: Histogram;
  private sizes: (() => ServerSizes) | undefined;

  /** `processMetrics`: prom-client's default metrics (CPU, RSS, heap, event-loop lag, GC) as `sigctl_process_*`, `sigctl_nodejs_*`. */
  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // Off for servers embedded many to a process (tests): the collectors (an event-loop delay
    // histogram, a GC observer) live as long as the process.
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'sigctl_' });
    // The size gauges are read from their source at each scrape (prom-client calls `collect`
    // first, with the gauge as `this`), so no code path has to keep them current.
    const sizes = (): ServerSizes | undefined => this.sizes?.();
    const gauge = (name: string, help: string, pick: (s: ServerSizes) => number): Gauge =>
      new Gauge({
        name,
        help,
        registers,
        collect(this: Gauge) {
          const now = sizes();
          if (now !== undefined) this.set(pick(now));
        },
      });
    this.connections = gauge('sigctl_connections', 'Open WebSocket connections.', (s) => s.connections);
    this.rooms = gauge('sigctl_rooms', 'Rooms with at least one member on this node.', (s) => s.rooms);
    this.members = gauge('sigctl_members', 'Room members held by this node (connected or reserved for resume).', (s) => s.members);
    this.nodeLinks = gauge('sigctl_node_links', 'Other nodes this node sends to over a direct link instead of Redis pub/sub (docs/scaling.md "Node links").', (s) => s.nodeLinks);
    this.joins = new Counter({ name: 'sigctl_joins_total', help: 'Joins by result (joined, resumed, full, refused).', labelNames: ['result'], registers });
    const flushRelayed = (): void => {
      if (this.relayedPending === 0) return;
      this.relayed.inc(this.relayedPending);
      this.relayedPending = 0;
    };
    this.relayed = new Counter({ name: 'sigctl_messages_relayed_total', help: 'Signal frames delivered to a member (one per recipient).', registers, collect: flushRelayed });
    this.errors = new Counter({ name: 'sigctl_errors_total', help: 'Error frames sent, by code.', labelNames: ['code'], registers });
    this.joinSeconds = new Histogram({ name: 'sigctl_join_duration_seconds', help: 'Time from a join frame to its joined reply.', buckets: JOIN_BUCKETS, registers });
    this.relaySeconds = new Histogram({ name: 'sigctl_relay_duration_seconds', help: 'Time from a parsed signal frame to handing it to the recipients\' sockets (1 in 128 signals is timed).', buckets: RELAY_BUCKETS, registers });
  }

  /** Where the size gauges (connections, rooms, members) read their values at each scrape. */
  observeSizes(sizes: () => ServerSizes): void {
    this.sizes = sizes;
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
