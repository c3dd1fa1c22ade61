/**
 * Starts a real 3-master Redis Cluster (no replicas) on free loopback ports under a temp dir:
 * `redis-server --cluster-enabled yes` x3, then `redis-cli --cluster create`. Every wait is
 * bounded; stop() kills every process and removes the dir. Suites declare requires('redis-server').
 */
import { execFile } from 'node:child_process';
import { freePort } from './redis-server.js';
import { answering, baseArgs, cli, ProcGroup, type Proc } from './redis-procs.js';
import { until } from './within.js';

export interface RedisCluster {
  /** redis:// URLs of the masters (config redis.cluster.nodes). */
  nodes: string[];
  ports: number[];
  /** Kills every node and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const group = new ProcGroup('redis-cluster');
  const { dir, stop } = group;
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      procs.push(
        await group.spawn(port, [
          ...baseArgs(port, dir),
          '--cluster-enabled', 'yes',
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', '2000',
        ]),
      );
    }
    for (const p of procs) await answering(p.port, 10_000, `cluster node ${p.port} to answer`);
    const addrs = procs.map((p) => `127.0.0.1:${p.port}`);
    await new Promise<void>((resolve, reject) => {
      execFile('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 }, (err, _out, stderr) =>
        err === null ? resolve() : reject(new Error(`redis-cli --cluster create failed: ${stderr || err.message}`)),
      );
    });
    for (const p of procs) {
      await until(async () => (await cli(p.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'), 20_000, `cluster_state:ok on ${p.port}`, 100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: procs.map((p) => `redis://127.0.0.1:${p.port}`), ports: procs.map((p) => p.port), stop };
}
