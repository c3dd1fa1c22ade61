/**
 * Builds the store a node runs on: the in-memory store by default, the Redis store when
 * `redis.url`, `redis.sentinel` or `redis.cluster` is configured (multi-node; docs/scaling.md).
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MemoryStore } from './memory.js';
import { redisTarget } from './redis-client.js';
import { RedisStore } from './redis.js';
import type { Store } from './store.js';

export interface CreateStoreOptions {
  logger?: Logger | undefined;
  /** Node id; random when absent. */
  nodeId?: string | undefined;
}

/**
 * Where a node listens for the other nodes' links when config says nowhere: the server's own host
 * when it names one address; for a wildcard (0.0.0.0, ::), the first non-internal IPv4 address, which
 * the other nodes can reach (127.0.0.1 on a machine without one).
 */
export function linkHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '[::]') return host;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Creates and starts the configured store. Throws SigctlError(UNAVAILABLE) when Redis is unreachable. */
export async function createStore(config: Readonly<Config>, options: CreateStoreOptions = {}): Promise<Store> {
  const nodeId = options.nodeId ?? config.redis.nodeId;
  const target = redisTarget(config.redis);
  if (target === undefined) return new MemoryStore(nodeId === undefined ? {} : { nodeId });
  const store = new RedisStore({
    target,
    keyPrefix: config.redis.keyPrefix,
    heartbeatMs: config.redis.nodeHeartbeatMs,
    timeoutMs: config.redis.timeoutMs,
    recoveryWindowMs: config.redis.recoveryWindowMs,
    logger: options.logger,
    publicUrl: config.publicUrl,
    links: config.redis.links.enabled && { host: config.redis.links.host ?? linkHost(config.host), port: config.redis.links.port, coalesceMs: config.redis.links.coalesceMs },
    ...(nodeId === undefined ? {} : { nodeId }),
  });
  await store.start();
  return store;
}
