/**
 * The Redis deployment a store runs on, behind one narrow interface: a single Redis (`redis.url`),
 * a master found through Sentinel (`redis.sentinel`, follows failovers), or a Redis Cluster
 * (`redis.cluster`). The store only ever needs the few commands below, so each topology maps
 * them onto its node-redis client here and nothing else in src/store knows which one it runs on.
 *
 * Under Cluster, pub/sub is sharded (SSUBSCRIBE/SPUBLISH): a room's channel lives on the shard of
 * the room's hash slot, so cross-node signals spread over the masters instead of every message
 * being broadcast to every node of the cluster as classic PUBLISH does.
 */
import { createClient, createCluster, createSentinel } from 'redis';
import type { Config } from '../config/schema.js';

/** Which kind of deployment: decides the key layout (redis-keys.ts) and how multi-key work is split. */
export type RedisTopology = 'single' | 'sentinel' | 'cluster';

/** Where Redis is, from config: exactly one of url, sentinel, cluster. */
export type RedisTarget =
  | { readonly topology: 'single'; readonly url: string }
  | { readonly topology: 'sentinel'; readonly name: string; readonly sentinels: readonly { host: string; port: number }[]; readonly password?: string | undefined }
  | { readonly topology: 'cluster'; readonly nodes: readonly string[] };

/** The commands the store runs (redis-commands.ts). Replies are plain strings and numbers. */
export interface CommandClient {
  eval(script: string, options: { keys: string[]; arguments?: string[] }): Promise<unknown>;
  ping(): Promise<unknown>;
  get(key: string): Promise<string | null>;
  exists(key: string): Promise<number>;
  set(key: string, value: string, options: { NX?: true; PX: number }): Promise<string | null>;
  getDel(key: string): Promise<string | null>;
  sAdd(key: string, member: string): Promise<number>;
  sRem(key: string, member: string): Promise<number>;
  sMembers(key: string): Promise<string[]>;
  /** Keys of one hash slot under Cluster. */
  mGet(keys: string[]): Promise<(string | null)[]>;
  hLen(key: string): Promise<number>;
  hGet(key: string, field: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  /** PUBLISH, or SPUBLISH under Cluster; resolves with the receivers. */
  publish(channel: string, message: string): Promise<number>;
}

/** The subscriber side: classic pub/sub, or sharded under Cluster. */
export interface SubscribeClient {
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
}

/** One connection (or connection set) to the deployment, with the events health follows. */
export interface RedisLink {
  readonly commands: CommandClient;
  readonly pubsub: SubscribeClient;
  /** Commands can be sent now. */
  readonly isReady: boolean;
  readonly isOpen: boolean;
  connect(): Promise<void>;
  /** 'error': something failed; 'ready': (re)connected; 'end': gone for good. */
  on(event: 'error' | 'ready' | 'end', listener: (err?: Error) => void): void;
  close(): Promise<void>;
  destroy(): void;
}

/** The deployment named by config, or undefined when no Redis is configured. */
export function redisTarget(redis: Readonly<Config['redis']>): RedisTarget | undefined {
  if (redis.url !== undefined) return { topology: 'single', url: redis.url };
  if (redis.sentinel !== undefined) {
    const sentinels = redis.sentinel.sentinels.map((s) => {
      if (typeof s !== 'string') return { host: s.host, port: s.port };
      const i = s.lastIndexOf(':');
      return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(i + 1)) };
    });
    return { topology: 'sentinel', name: redis.sentinel.name, sentinels, password: redis.sentinel.password };
  }
  if (redis.cluster !== undefined) return { topology: 'cluster', nodes: redis.cluster.nodes };
  return undefined;
}

/** Socket options every client gets: a bounded connect and a reconnect strategy that never gives up. */
export interface LinkSocket {
  connectTimeout: number;
  reconnectStrategy: (retries: number) => number;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : typeof v === 'number' ? String(v) : null);

const strings = (h: Record<string, unknown>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k] = str(v) ?? '';
  return out;
};

/** The key commands every topology's client has under the same names (replies made plain strings). */
interface KeySource {
  get(key: string): Promise<unknown>;
  exists(key: string): Promise<number>;
  set(key: string, value: string, options: { NX?: true; PX: number }): Promise<unknown>;
  getDel(key: string): Promise<unknown>;
  sAdd(key: string, member: string): Promise<number>;
  sRem(key: string, member: string): Promise<number>;
  sMembers(key: string): Promise<unknown[]>;
  mGet(keys: string[]): Promise<unknown[]>;
  hLen(key: string): Promise<number>;
  hGet(key: string, field: string): Promise<unknown>;
  hGetAll(key: string): Promise<Record<string, unknown>>;
}

function keyCommands(c: KeySource): Omit<CommandClient, 'eval' | 'ping' | 'publish'> {
  return {
    get: async (k) => str(await c.get(k)),
    exists: (k) => c.exists(k),
    set: async (k, v, o) => str(await c.set(k, v, o)),
    getDel: async (k) => str(await c.getDel(k)),
    sAdd: (k, m) => c.sAdd(k, m),
    sRem: (k, m) => c.sRem(k, m),
    sMembers: async (k) => (await c.sMembers(k)).map(String),
    mGet: async (ks) => (await c.mGet(ks)).map(str),
    hLen: (k) => c.hLen(k),
    hGet: async (k, f) => str(await c.hGet(k, f)),
    hGetAll: async (k) => strings(await c.hGetAll(k)),
  };
}

/** Client-like objects of all three topologies share these; everything else differs. */
interface Basic {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

function link(client: Basic, commands: CommandClient, pubsub: SubscribeClient, isReady: () => boolean, events: Record<'error' | 'ready' | 'end', string>): RedisLink {
  return {
    commands,
    pubsub,
    get isReady() {
      return isReady();
    },
    get isOpen() {
      return client.isOpen;
    },
    connect: async () => {
      await client.connect();
    },
    on(event, listener) {
      client.on(events[event], (err: unknown) => listener(err instanceof Error ? err : undefined));
    },
    close: async () => {
      await client.close();
    },
    destroy: () => client.destroy(),
  };
}

/**
 * The link of a client that speaks to one master (a single server, or Sentinel's current master):
 * plain pub/sub and the same commands; only the event that says it is ready differs.
 */
function plainLink(c: ReturnType<typeof createClient> | ReturnType<typeof createSentinel>, ready: string): RedisLink {
  return link(c, {
    eval: (script, o) => c.eval(script, o),
    ping: () => c.ping(),
    ...keyCommands(c),
    publish: (ch, m) => c.publish(ch, m),
  }, {
    subscribe: (ch, l) => c.subscribe(ch, (m) => l(String(m))),
    unsubscribe: (ch) => c.unsubscribe(ch),
  }, () => c.isReady, { error: 'error', ready, end: 'end' });
}

/**
 * Opens (without connecting) a link to the deployment. Each call makes its own connections: the
 * store opens one for commands and one for subscriptions.
 */
export function openRedis(target: RedisTarget, socket: LinkSocket): RedisLink {
  switch (target.topology) {
    case 'single':
      return plainLink(createClient({ url: target.url, socket, disableOfflineQueue: true }), 'ready');
    case 'sentinel': {
      const password = target.password === undefined ? {} : { password: target.password };
      const c = createSentinel({
        name: target.name,
        sentinelRootNodes: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
        nodeClientOptions: { socket, disableOfflineQueue: true, ...password },
        sentinelClientOptions: { socket },
        // A command refused while the master changes is rediscovered a few times, then fails.
        maxCommandRediscovers: 4,
        // Every command on one reserved master connection, sent in the order issued. Without it a
        // command issued while none is in flight waits a microtask for a lease from the pool, and
        // one issued meanwhile may be sent first: two PUBLISHes of one turn, then a third, reached
        // Redis 1, 3, 2, and the stamps dropped 2 as late (seen in redis-sentinel-failover).
        reserveClient: true,
      });
      return plainLink(c, 'topology-change');
    }
    case 'cluster': {
      const c = createCluster({ rootNodes: target.nodes.map((url) => ({ url })), defaults: { socket, disableOfflineQueue: true } });
      // node-redis keeps one sharded pub/sub client per master and destroys it when an SUNSUBSCRIBE
      // leaves it without channels: two unsubscribes racing on one shard destroy it twice ("The
      // client is closed"), and a subscribe racing an unsubscribe can land on a client being
      // destroyed. One at a time, they cannot race (joins and leaves only, never a signal).
      let pubsubTurn: Promise<unknown> = Promise.resolve();
      const serial = <T>(work: () => Promise<T>): Promise<T> => {
        const run = pubsubTurn.then(work, work);
        pubsubTurn = run.catch(() => undefined);
        return run;
      };
      return link(c, {
        eval: (script, o) => c.eval(script, o),
        // PING goes to one node; the store also reads a key of its own slot in every heartbeat.
        ping: () => c.sendCommand(undefined, true, ['PING']),
        ...keyCommands(c),
        publish: (ch, m) => c.sPublish(ch, m),
      }, {
        subscribe: (ch, l) => serial(() => c.sSubscribe(ch, (m) => l(String(m)))),
        unsubscribe: (ch) => serial(() => c.sUnsubscribe(ch)),
      }, () => c.isOpen, { error: 'error', ready: 'connect', end: 'disconnect' });
    }
  }
}
