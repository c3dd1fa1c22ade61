/**
 * Builds the store a node runs on: the in-memory store by default, the Redis store when
 * `redis.url`, `redis.sentinel` or `redis.cluster` is configured (multi-node; docs/scaling.md).
 */
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
    ...(nodeId === undefined ? {} : { nodeId }),
  });
  await store.start();
  return store;
}
