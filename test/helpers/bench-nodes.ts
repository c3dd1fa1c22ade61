/**
 * Two (or more) `sigctl serve --redis` nodes on one real redis-server, as an operator runs them, for
 * the multi-node bench tests. Limits are raised as for the bench's own local server.
 */
import { randomBytes } from 'node:crypto';
import { benchServerEnv } from '../../src/bench/signaling.js';
import { startRedis, type RedisProcess } from './redis-server.js';
import { startDaemon, type Daemon } from './server-daemon.js';

export interface BenchNodes {
  redis: RedisProcess;
  /** ws:// URL of each node. */
  urls: string[];
  /** Stops every node, then redis-server (idempotent). */
  close(): Promise<void>;
}

/** Starts redis-server and `count` nodes sharing it (a fresh key prefix per call). */
export async function startBenchNodes(count: number, clients = 200): Promise<BenchNodes> {
  const redis = await startRedis();
  const daemons: Daemon[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(daemons.map((d) => d.stop('SIGTERM', 5_000).catch(() => d.stop('SIGKILL', 2_000).catch(() => undefined))));
    await redis.stop();
  };
  try {
    const prefix = `bench${randomBytes(3).toString('hex')}:`;
    const urls = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const d = startDaemon(['serve', '--host', '127.0.0.1', '--port', '0', '--json', '--log-level', 'warn', '--redis', redis.url], {
          ...benchServerEnv(clients, 16),
          SIGCTL_REDIS_NODE_ID: `node${i}`,
          SIGCTL_REDIS_KEY_PREFIX: prefix,
        });
        daemons.push(d);
        return (JSON.parse(await d.firstLine) as { ws: string }).ws;
      }),
    );
    return { redis, urls, close };
  } catch (err) {
    await close();
    throw err;
  }
}
