/**
 * `sigctl serve` over a real 3-master Redis Cluster (`--redis-cluster`) and over Sentinel
 * (SIGCTL_REDIS_SENTINEL_*), as an operator runs them: two processes relay a room spanning both,
 * and when one node is killed (-9) the survivor tells the room (its liveness keys live in the
 * cluster's `{g}` slot, docs/scaling.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelSet } from '../helpers/redis-sentinel.js';
import { requires } from '../helpers/requires.js';
import { startDaemon, type Daemon } from '../helpers/server-daemon.js';
import { TestClient } from '../helpers/server-harness.js';

describe('sigctl serve over Redis Cluster and Sentinel (e2e, two nodes)', requires('redis-server'), () => {
  const daemons: Daemon[] = [];
  const clients: TestClient[] = [];
  const redis: Array<RedisCluster | RedisSentinelSet> = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL').catch(() => undefined)));
    await Promise.all(redis.splice(0).map((r) => r.stop()));
  });

  const spanAndKill = async (args: string[], env: Record<string, string>): Promise<void> => {
    const start = async (id: string): Promise<string> => {
      const d = startDaemon(['serve', '--port', '0', '--json', '--log-level', 'warn', ...args], { ...env, SIGCTL_REDIS_NODE_ID: id, SIGCTL_REDIS_NODE_HEARTBEAT_MS: '300', SIGCTL_DRAIN_MS: '0' }, 45_000);
      daemons.push(d);
      return (JSON.parse(await d.firstLine) as { ws: string }).ws;
    };
    const [a, b] = await Promise.all([start('a'), start('b')]);
    const ca = await TestClient.connect(a);
    const cb = await TestClient.connect(b);
    clients.push(ca, cb);
    ca.send({ type: 'join', room: 'span' });
    const ja = await ca.next('joined', 5000);
    cb.send({ type: 'join', room: 'span' });
    const jb = await cb.next('joined', 5000);
    expect(jb.peers.map((p) => p.id)).toEqual([ja.self.id]);
    await ca.next('ready', 5000);
    ca.send({ type: 'signal', to: jb.self.id, data: { from: 'node a' } });
    expect(await cb.next('signal', 5000)).toEqual({ type: 'signal', from: ja.self.id, data: { from: 'node a' } });
    daemons[0]!.child.kill('SIGKILL');
    // Reaped within 3 heartbeats of 300 ms, plus slack for a loaded machine.
    expect(await cb.next('peer-left', 8000)).toEqual({ type: 'peer-left', room: 'span', peer: ja.self.id, reason: 'disconnect' });
  };

  it('--redis-cluster: relays across nodes and reaps a killed node', async () => {
    const cluster = await startRedisCluster();
    redis.push(cluster);
    await spanAndKill(['--redis-cluster', cluster.nodes.join(',')], {});
  }, 90_000);

  it('SIGCTL_REDIS_SENTINEL_*: relays across nodes and reaps a killed node', async () => {
    const set = await startRedisSentinel();
    redis.push(set);
    await spanAndKill([], { SIGCTL_REDIS_SENTINEL_NAME: set.name, SIGCTL_REDIS_SENTINEL_SENTINELS: JSON.stringify(set.sentinels) });
  }, 90_000);
});
