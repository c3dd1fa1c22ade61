/**
 * Several test servers sharing one Redis, each with its own RedisStore: the set-up of every
 * multi-node suite (server-multinode, server-kick-multinode, ops-e2e, admin-api,
 * redis-cluster-relay). Each start() takes a fresh key prefix, so the tests of a suite never see
 * each other's rooms; closeAll() closes the servers and clients first, then the stores they used.
 *
 *   const res = new Resources();
 *   const cluster = new RedisNodes(res, 'mn', () => ({ url: redis.url }));
 *   afterEach(() => cluster.closeAll());
 *   const [n1, n2] = await cluster.start(2);
 */
import type { ConfigInput } from '../../src/config/schema.js';
import type { ServerDeps, SignalingServer } from '../../src/server/index.js';
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis.js';
import { type Resources, startTestServer } from './server-harness.js';

/** Where the stores connect: a single server's URL, or a topology target (Cluster, Sentinel). */
export type RedisNodesTarget = Pick<RedisStoreOptions, 'url' | 'target' | 'connectTimeoutMs'>;

/** Node ids: a count gives node-0, node-1, ...; or the ids themselves. */
export type NodeIds = number | readonly string[];

/** What start() may vary per suite or test. */
export interface StartOptions {
  overrides?: ConfigInput | undefined;
  deps?: ((nodeId: string, index: number) => Omit<ServerDeps, 'store'>) | undefined;
  heartbeatMs?: number | undefined;
}

/** Multi-node servers over one Redis for one suite (see the module comment). */
export class RedisNodes {
  /** The stores of the nodes started since the last closeAll(), in start order. */
  readonly stores: RedisStore[] = [];
  /** The key prefix of the latest start(). */
  keyPrefix = '';
  private started = 0;

  /**
   * @param res the suite's Resources (servers are registered there; closeAll() closes it)
   * @param prefix the suite's key prefix stem (e.g. 'kick'): start() uses `<prefix><n>:`
   * @param target read at start(), so it may name a Redis started in beforeAll
   */
  constructor(
    private readonly res: Resources,
    private readonly prefix: string,
    private readonly target: () => RedisNodesTarget,
  ) {}

  /**
   * Starts one RedisStore and one test server per node id, in order, under a new key prefix:
   * `overrides` for every server's config, `deps` for per-node server dependencies (logger,
   * events, authenticator), `heartbeatMs` for the stores (default 1 s).
   */
  async start(ids: NodeIds, o: StartOptions = {}): Promise<SignalingServer[]> {
    const nodeIds = typeof ids === 'number' ? Array.from({ length: ids }, (_, i) => `node-${i}`) : ids;
    this.keyPrefix = `${this.prefix}${++this.started}:`;
    const out: SignalingServer[] = [];
    for (const [i, nodeId] of nodeIds.entries()) {
      const store = new RedisStore({ ...this.target(), keyPrefix: this.keyPrefix, nodeId, heartbeatMs: o.heartbeatMs ?? 1000 });
      await store.start();
      this.stores.push(store);
      out.push(this.res.server(await startTestServer(o.overrides ?? {}, { ...o.deps?.(nodeId, i), store })));
    }
    return out;
  }

  /** Closes the suite's clients and servers (Resources.closeAll), then the stores (for afterEach). */
  async closeAll(): Promise<void> {
    try {
      await this.res.closeAll();
    } finally {
      await Promise.all(this.stores.splice(0).map((s) => s.close()));
    }
  }
}
