/**
 * Starts a real Sentinel set on free loopback ports under a temp dir: a master, one replica and
 * three `redis-server --sentinel` (quorum 2, down-after-milliseconds 1000), and waits until the
 * sentinels know the replica and each other, so a failover can happen. killMaster() SIGKILLs the
 * master and waits until the sentinels name the replica. Every wait is bounded; stop() kills
 * everything and removes the dir. Suites declare requires('redis-server').
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './redis-server.js';
import { answering, baseArgs, cli, ProcGroup, type Proc } from './redis-procs.js';
import { until } from './within.js';

export interface RedisSentinelSet {
  /** The master name the sentinels monitor (config redis.sentinel.name). */
  name: string;
  /** `host:port` of each sentinel (config redis.sentinel.sentinels). */
  sentinels: string[];
  masterPort: number;
  replicaPort: number;
  /** The port the sentinels currently name as master. */
  currentMaster(): Promise<number | undefined>;
  /** SIGKILLs the master and waits (bounded) until the sentinels have promoted the replica. */
  killMaster(timeoutMs?: number): Promise<void>;
  /** Kills every process and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const NAME = 'sigctlmaster';

export async function startRedisSentinel(): Promise<RedisSentinelSet> {
  const group = new ProcGroup('redis-sentinel');
  const { dir, stop } = group;
  const masterPort = await freePort();
  const replicaPort = await freePort();
  const sentinelPorts: number[] = [];
  let master: Proc | undefined;
  const currentMaster = async (): Promise<number | undefined> => {
    for (const port of sentinelPorts) {
      const lines = (await cli(port, ['SENTINEL', 'get-master-addr-by-name', NAME], 2_000)).trim().split('\n');
      if (lines.length === 2) return Number(lines[1]);
    }
    return undefined;
  };
  try {
    master = await group.spawn(masterPort, baseArgs(masterPort, dir));
    await answering(masterPort, 10_000, 'the master to answer');
    await group.spawn(replicaPort, [...baseArgs(replicaPort, dir), '--replicaof', '127.0.0.1', String(masterPort)]);
    await until(async () => (await cli(replicaPort, ['INFO', 'replication'])).includes('master_link_status:up'), 15_000, 'the replica to sync', 100);
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${NAME} 1000`,
          `sentinel failover-timeout ${NAME} 5000`,
          `sentinel parallel-syncs ${NAME} 1`,
          '',
        ].join('\n'),
      );
      await group.spawn(port, [file, '--sentinel', '--loglevel', 'warning']);
      sentinelPorts.push(port);
    }
    for (const port of sentinelPorts) {
      await until(
        async () => {
          const replicas = await cli(port, ['SENTINEL', 'replicas', NAME], 2_000);
          const peers = await cli(port, ['SENTINEL', 'sentinels', NAME], 2_000);
          return replicas.includes(String(replicaPort)) && sentinelPorts.filter((p) => p !== port).every((p) => peers.includes(String(p)));
        },
        30_000,
        `sentinel ${port} to know the replica and the other sentinels`,
        100,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: NAME,
    sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`),
    masterPort,
    replicaPort,
    currentMaster,
    async killMaster(timeoutMs = 30_000) {
      await master?.stop(true);
      await until(async () => (await currentMaster()) === replicaPort, timeoutMs, 'the sentinels to promote the replica', 100);
      await until(async () => (await cli(replicaPort, ['ROLE'])).startsWith('master'), timeoutMs, 'the replica to become master', 100);
    },
    stop,
  };
}
