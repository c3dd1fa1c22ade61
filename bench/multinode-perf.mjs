/**
 * Where two `sigctl serve --redis` nodes spend their CPU on a signaling load, by `perf record`
 * (issue 17): a fresh redis-server, two nodes started with --perf-basic-prof (so perf names the
 * JavaScript frames), `sigctl bench signaling` against both, and `perf record -e cpu-clock -g` on
 * both node processes for 7 s of the bench's steady window. Then `perf report -i <out>`.
 *
 *   npm run build && flock /work/bench.lock node bench/multinode-perf.mjs [--spread members|rooms | --one-node] [--out /tmp/perf.data]
 *       [--stat [--events LIST]] [--node-env SIGCTL_NAME=VALUE ...] [--duration 10] [--delay 0]
 *       [--rate 10] [--pin] [--floor]
 *
 * --spread members (default): every room spans both nodes (cross-node signals); rooms: each room
 * whole on one node (same-node signals of the same deployment). --one-node: a single node holds
 * every room (the deployment the two are compared with). Needs `perf` (linux-perf) and
 * permission to profile other processes (root, or kernel.perf_event_paranoid <= 1).
 *
 * --stat counts instead of sampling (`perf stat --per-thread`, written to --out as text): CPU
 * (cpu-clock), context switches, wake-ups and system calls (all, and read / write / writev) of
 * each node thread over the same 7 s, then a line `# user-ms N system-ms N`: the nodes' user and
 * kernel CPU over those 7 s, from /proc/<pid>/stat (which perf's cpu-clock does not split);
 * --events replaces the perf list (perf's syntax, comma-separated,
 * e.g. 'syscalls:sys_enter_*' for every system call by name). --node-env sets a SIGCTL_* variable
 * for both nodes (e.g. SIGCTL_REDIS_LINKS_COALESCE_MS=20).
 *
 * --duration sets the bench's steady window (s, default 10); --delay waits that long into it
 * before perf starts (default 0), e.g. `--duration 40 --delay 30` for a process 30 s past its
 * warm-up, its hot functions long optimised.
 *
 * --floor runs bench/floor-node.mjs processes (the floor relay; two linked by one WebSocket) in
 * place of the sigctl nodes, the same cases: what the least a cross-node relay in Node does costs.
 *
 * --rate sets each client's signals per second (200 clients; default 10: 2,000 signals/s). --pin
 * puts redis-server and the nodes on the first half of the CPUs and the load generator on the
 * rest (taskset, as bench/multinode-cost.mjs --pin), so that the nodes' counts do not include
 * waking a generator that shares their CPU.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';
import { parseNodeEnv, pinApart, runBench, startFloorNode, startNode, startRedis, stopAll } from './benchmarks-procs.mjs';

const root = join(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    spread: { type: 'string', default: 'members' },
    'one-node': { type: 'boolean', default: false },
    out: { type: 'string', default: '/tmp/perf.data' },
    stat: { type: 'boolean', default: false },
    'node-env': { type: 'string', multiple: true, default: [] },
    duration: { type: 'string', default: '10' },
    delay: { type: 'string', default: '0' },
    events: { type: 'string' },
    rate: { type: 'string', default: '10' },
    pin: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
  },
});
if (!(Number(opts.rate) > 0)) throw new Error(`--rate is signals per second per client (> 0), not ${opts.rate}`);
/** --pin: the system under test on the first half of the CPUs, the generator on the rest. */
const pinning = opts.pin ? pinApart() : undefined;
const pinServer = (pid) => pinning?.pinServer(pid);
const STAT_EVENTS = opts.events?.split(',') ?? ['cpu-clock', 'context-switches', 'sched:sched_wakeup', 'raw_syscalls:sys_enter', 'syscalls:sys_enter_read', 'syscalls:sys_enter_write', 'syscalls:sys_enter_writev'];
const nodeEnv = parseNodeEnv(opts['node-env'], 'node-env');
const durationS = Number(opts.duration);
const delayS = Number(opts.delay);
if (!(durationS >= 8 && delayS >= 0 && delayS + 7 <= durationS)) throw new Error(`--duration (>= 8 s) must leave 7 s after --delay: ${opts.duration} / ${opts.delay}`);
if (!['members', 'rooms'].includes(opts.spread)) throw new Error(`--spread is members or rooms, not ${opts.spread}`);
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
try {
  const redis = await startRedis();
  pinServer(redis.child.pid);
  const nodes = [];
  for (let i = 1; i <= (opts['one-node'] ? 1 : 2); i++) {
    const node = opts.floor ? await startFloorNode({ root, dial: nodes[0]?.link, nodeArgs: ['--perf-basic-prof'] }) : await startNode({ root, redisUrl: redis.url, nodeId: `node${i}`, nodeArgs: ['--perf-basic-prof'], nodeEnv });
    pinServer(node.child.pid);
    nodes.push(node);
  }
  let started = false;
  let perf;
  /** User and system CPU ms of the node processes so far (/proc/<pid>/stat, every thread; clock ticks of 10 ms). */
  const userSystem = () =>
    nodes
      .map((n) => readFileSync(`/proc/${n.child.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' '))
      .reduce(([u, s], f) => [u + Number(f[11]) * 10, s + Number(f[12]) * 10], [0, 0]);
  let before;
  let after;
  const startPerf = () => {
    before = userSystem();
    const what = opts.stat ? ['stat', '-e', STAT_EVENTS.join(','), '--per-thread'] : ['record', '-e', 'cpu-clock', '-F', '2000', '-g'];
    perf = spawn('perf', [...what, '-p', nodes.map((n) => n.child.pid).join(','), '-o', opts.out, '--', 'sleep', '7'], { stdio: 'inherit' });
    perf.once('exit', () => (after = userSystem()));
  };
  const onStderr = (chunk) => {
    if (started || !/steady:/.test(String(chunk))) return;
    started = true;
    setTimeout(startPerf, delayS * 1000);
  };
  const args = ['signaling', ...nodes.flatMap((n) => ['--url', n.url]), ...(opts['one-node'] ? [] : ['--spread', opts.spread]), '--clients', '200', '--room-size', '2', '--rate', opts.rate, '--duration', String(durationS), '--out', join(root, '.bench-out/multinode-perf.json')];
  await runBench({ root, args, timeoutMs: (durationS + 50) * 1000, onStderr });
  if (perf === undefined) throw new Error(started ? 'the bench ended before --delay was over' : 'the bench never reported its steady window');
  if (perf.exitCode === null) await new Promise((resolve) => perf.once('exit', resolve));
  // The kernel's split of the same 7 s (perf's cpu-clock cannot be split into user and kernel time).
  if (opts.stat && after !== undefined) appendFileSync(opts.out, `\n# user-ms ${after[0] - before[0]} system-ms ${after[1] - before[1]}\n`);
  process.stderr.write(opts.stat ? `\ncounts in ${opts.out}\n` : `\nperf data in ${opts.out}: perf report -i ${opts.out} --no-children --sort dso,sym\n`);
} finally {
  await stopAll();
}
