/**
 * Where two `sigctl serve --redis` nodes spend their CPU on a signaling load, by `perf record`
 * (issue 17): a fresh redis-server, two nodes started with --perf-basic-prof (so perf names the
 * JavaScript frames), `sigctl bench signaling` against both, and `perf record -e cpu-clock -g` on
 * both node processes for 7 s of the bench's steady window. Then `perf report -i <out>`.
 *
 *   npm run build && flock /work/bench.lock node bench/multinode-perf.mjs [--spread members|rooms] [--out /tmp/perf.data]
 *       [--stat] [--node-env SIGCTL_NAME=VALUE ...]
 *
 * --spread members (default): every room spans both nodes (cross-node signals); rooms: each room
 * whole on one node (same-node signals of the same deployment). Needs `perf` (linux-perf) and
 * permission to profile other processes (root, or kernel.perf_event_paranoid <= 1).
 *
 * --stat counts instead of sampling (`perf stat --per-thread`, written to --out as text): CPU
 * (cpu-clock), context switches, wake-ups and system calls (all, and read / write / writev) of
 * each node thread over the same 7 s. --node-env sets a SIGCTL_* variable for both nodes (e.g.
 * SIGCTL_REDIS_LINKS_COALESCE_MS=20).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { parseNodeEnv, runBench, startNode, startRedis, stopAll } from './benchmarks-procs.mjs';

const root = join(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    spread: { type: 'string', default: 'members' },
    out: { type: 'string', default: '/tmp/perf.data' },
    stat: { type: 'boolean', default: false },
    'node-env': { type: 'string', multiple: true, default: [] },
  },
});
const STAT_EVENTS = ['cpu-clock', 'context-switches', 'sched:sched_wakeup', 'raw_syscalls:sys_enter', 'syscalls:sys_enter_read', 'syscalls:sys_enter_write', 'syscalls:sys_enter_writev'];
const nodeEnv = parseNodeEnv(opts['node-env'], 'node-env');
if (!['members', 'rooms'].includes(opts.spread)) throw new Error(`--spread is members or rooms, not ${opts.spread}`);
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
try {
  const redis = await startRedis();
  const nodes = [];
  for (let i = 1; i <= 2; i++) nodes.push(await startNode({ root, redisUrl: redis.url, nodeId: `node${i}`, nodeArgs: ['--perf-basic-prof'], nodeEnv }));
  let perf;
  const onStderr = (chunk) => {
    if (perf !== undefined || !/steady:/.test(String(chunk))) return;
    const what = opts.stat ? ['stat', '-e', STAT_EVENTS.join(','), '--per-thread'] : ['record', '-e', 'cpu-clock', '-F', '2000', '-g'];
    perf = spawn('perf', [...what, '-p', nodes.map((n) => n.child.pid).join(','), '-o', opts.out, '--', 'sleep', '7'], { stdio: 'inherit' });
  };
  const args = ['signaling', ...nodes.flatMap((n) => ['--url', n.url]), '--spread', opts.spread, '--clients', '200', '--room-size', '2', '--rate', '10', '--duration', '10', '--out', join(root, '.bench-out/multinode-perf.json')];
  await runBench({ root, args, timeoutMs: 60_000, onStderr });
  if (perf === undefined) throw new Error('the bench never reported its steady window');
  if (perf.exitCode === null) await new Promise((resolve) => perf.once('exit', resolve));
  process.stderr.write(opts.stat ? `\ncounts in ${opts.out}\n` : `\nperf data in ${opts.out}: perf report -i ${opts.out} --no-children --sort dso,sym\n`);
} finally {
  await stopAll();
}
