/**
 * Fault injection with real processes (docs/reliability.md): a redis-server and two
 * `sigctl serve --redis` nodes, rooms of 2 spanning both nodes, every member sending numbered
 * signals to its peer at a steady rate; then one fault per scenario:
 *
 *   redis-restart  redis-server SIGKILLed and started again at once, empty (no persistence)
 *   redis-kill     redis-server SIGKILLed, down for --fault-ms, started again empty
 *   redis-freeze   redis-server SIGSTOPped for --fault-ms, then SIGCONTed
 *   node-kill      node b SIGKILLed (its members are reaped; signals to them are answered)
 *   node-drain     node b SIGTERMed: its clients get `bye` and resume on node a
 *
 * Each reports signals sent, delivered, lost with the sender told (UNAVAILABLE/UNKNOWN_PEER with
 * the signal's id), lost untold, duplicated and reordered; capacity violations (newcomers admitted
 * into full rooms, rooms over capacity in Redis); membership disagreements (a client's view of
 * its room against Redis); /readyz transitions; how long joins took to fail; recovery time (fault
 * over to every pair delivering again). Writes bench/sections/40-reliability.md.
 *
 *   npm run build && node bench/fault-injection.mjs [--quick] [--fault-ms 3000] [--rooms 10] [--rate 20] [--only a,b]
 *
 * --quick writes to .bench-out/ instead; FI_DEBUG=1 prints each signal lost untold (number and
 * send time relative to the fault) on stderr.
 */
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { cleanEnv, freePort, loadAverage, stop, stopAll } from './benchmarks-procs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, 'fault-ms': { type: 'string' }, rooms: { type: 'string' }, rate: { type: 'string' }, only: { type: 'string' }, out: { type: 'string' } },
});
const quick = opts.quick;
const FAULT_MS = Number(opts['fault-ms'] ?? (quick ? 1500 : 3000));
const ROOMS = Number(opts.rooms ?? (quick ? 4 : 10));
const RATE = Number(opts.rate ?? 20);
const HEARTBEAT_MS = 1000;
const SCENARIOS = ['redis-restart', 'redis-kill', 'redis-freeze', 'node-kill', 'node-drain'].filter((s) => opts.only === undefined || opts.only.split(',').includes(s));
const OUT = opts.out ?? join(root, quick ? '.bench-out/40-reliability.md' : 'bench/sections/40-reliability.md');

// ---- processes ---------------------------------------------------------------------------------

function launchRedis(port) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  return child;
}

async function redisUp(url) {
  for (let i = 0; i < 200; i++) {
    const c = createClient({ url, socket: { reconnectStrategy: false } });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.ping();
      return c;
    } catch {
      if (c.isOpen) c.destroy();
      await sleep(50);
    }
  }
  throw new Error(`redis at ${url} did not come up`);
}

async function startNode(redisUrl, nodeId, prefix) {
  const env = cleanEnv({
    SIGCTL_REDIS_NODE_ID: nodeId,
    SIGCTL_REDIS_KEY_PREFIX: prefix,
    SIGCTL_REDIS_NODE_HEARTBEAT_MS: String(HEARTBEAT_MS),
    SIGCTL_DRAIN_MS: '500',
    SIGCTL_ROOMS_RESUME_GRACE_MS: '5000',
  });
  const child = spawn(process.execPath, ['bin/sigctl', 'serve', '--host', '127.0.0.1', '--port', '0', '--redis', redisUrl, '--log-level', 'error', '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume();
  const banner = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`node ${nodeId} exited ${code}`)));
  });
  child.stdout.resume();
  return { child, nodeId, ws: banner.ws, http: banner.ws.replace(/^ws/, 'http').replace(/\/ws$/, '') };
}

/** GET /readyz: the status code, or 'no answer' within 1 s. */
function readyz(base) {
  return new Promise((resolve) => {
    const req = get(`${base}/readyz`, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('no answer'));
  });
}

// ---- clients -----------------------------------------------------------------------------------

/** One member: follows its view of the room, counts what it gets, sends numbered signals to its peer. */
class Member {
  constructor(tag, room) {
    Object.assign(this, { tag, room, self: undefined, peers: new Set(), ready: 0, token: undefined, sent: 0, sentAt: [], got: new Map(), told: new Set(), codes: {}, moving: false });
  }
  connect(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ['sigctl.v1']);
      this.ws = ws;
      ws.on('message', (data) => this.onFrame(JSON.parse(String(data))));
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.on('close', () => this.onClose?.());
    });
  }
  send(frame) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }
  /** Sends `frame` with id `id`; resolves with the frame answering it (re === id), or 'timeout'. */
  request(frame, id, timeoutMs = 5000) {
    this.pending ??= new Map();
    const answer = new Promise((resolve) => this.pending.set(id, resolve));
    this.send({ ...frame, id });
    return Promise.race([answer, sleep(timeoutMs).then(() => ({ type: 'timeout' }))]).finally(() => this.pending.delete(id));
  }
  onFrame(f) {
    if (f.re !== undefined && this.pending?.has(f.re)) this.pending.get(f.re)(f);
    if (f.type === 'joined') {
      this.self = f.self.id;
      this.token = f.resumeToken;
      this.peers = new Set(f.peers.map((p) => p.id));
      this.onJoined?.(f);
    } else if (f.type === 'peer-joined') this.peers.add(f.peer.id);
    else if (f.type === 'peer-left') this.peers.delete(f.peer);
    else if (f.type === 'ready') this.ready++;
    else if (f.type === 'signal' && typeof f.data === 'object' && f.data !== null) {
      const from = f.data.s;
      if (!this.got.has(from)) this.got.set(from, []);
      this.got.get(from).push({ n: f.data.n, at: Date.now() });
    } else if (f.type === 'error') {
      this.codes[f.code] = (this.codes[f.code] ?? 0) + 1;
      if (typeof f.re === 'number') this.told.add(f.re);
      this.onError?.(f);
    } else if (f.type === 'bye') this.onBye?.(f);
  }
  sendSignal(to) {
    if (this.moving || this.ws?.readyState !== WebSocket.OPEN) return;
    const n = this.sent++;
    this.sentAt.push(Date.now());
    this.send({ type: 'signal', to, id: n, data: { s: this.tag, n } });
  }
  view() {
    return this.self === undefined ? [] : [this.self, ...this.peers].sort();
  }
}

async function joinAs(m, url, extra = {}) {
  await m.connect(url);
  const joined = new Promise((resolve) => (m.onJoined = resolve));
  m.send({ type: 'join', room: m.room, capacity: 2, ...extra });
  await Promise.race([joined, sleep(5000).then(() => Promise.reject(new Error(`join ${m.room} timed out`)))]);
}

/** Sent/delivered/told for one directed pair (numbered signals 0..sent-1). */
function ledger(sender, receiver) {
  const got = receiver.got.get(sender.tag) ?? [];
  const seen = new Map();
  let reordered = 0;
  let max = -1;
  for (const { n } of got) {
    seen.set(n, (seen.get(n) ?? 0) + 1);
    if (n < max) reordered++;
    max = Math.max(max, n);
  }
  const out = { sent: sender.sent, delivered: seen.size, lostTold: 0, lostUntold: 0, duplicated: 0, reordered, toldButDelivered: 0 };
  for (let i = 0; i < sender.sent; i++) {
    const c = seen.get(i) ?? 0;
    if (c > 1) out.duplicated += c - 1;
    if (c === 0) out[sender.told.has(i) ? 'lostTold' : 'lostUntold']++;
    else if (sender.told.has(i)) out.toldButDelivered++;
  }
  return out;
}

// ---- one scenario ------------------------------------------------------------------------------

const b64 = (room) => Buffer.from(room, 'utf8').toString('base64url');
const waitExit = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r)));

async function scenario(name) {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let redis = launchRedis(port);
  let admin = await redisUp(url);
  const prefix = `fi-${name}:`;
  const a = await startNode(url, 'a', prefix);
  const b = await startNode(url, 'b', prefix);
  const nodes = [a, b];
  const transitions = [];
  const last = {};
  let polling = true;
  const poller = (async () => {
    while (polling) {
      for (const n of nodes) {
        if (n.dead) continue;
        const status = await readyz(n.http);
        if (last[n.nodeId] !== status) transitions.push({ at: Date.now(), node: n.nodeId, status: (last[n.nodeId] = status) });
      }
      await sleep(100);
    }
  })();

  const pairs = [];
  for (let i = 0; i < ROOMS; i++) {
    const ma = new Member(`a${i}`, `room-${i}`);
    const mb = new Member(`b${i}`, `room-${i}`);
    await joinAs(ma, a.ws);
    await joinAs(mb, b.ws);
    pairs.push([ma, mb]);
  }
  const pump = setInterval(() => {
    for (const [ma, mb] of pairs) {
      if (mb.self !== undefined) ma.sendSignal(mb.self);
      if (ma.self !== undefined) mb.sendSignal(ma.self);
    }
  }, 1000 / RATE);

  // Newcomers knock on every (full) room through node a: any admission is a capacity violation.
  const redisFault = name.startsWith('redis');
  let knocking = redisFault;
  let faultStart = Infinity;
  let faultEnd = Infinity;
  const admitted = [];
  const joinAnswers = [];
  const knockers = redisFault
    ? pairs.map(async ([ma], i) => {
        const c = new Member(`knock${i}`, ma.room);
        await c.connect(a.ws);
        for (let k = 0; knocking; k++) {
          const sentAt = Date.now();
          const f = await c.request({ type: 'join', room: ma.room, capacity: 2 }, k);
          const ms = Date.now() - sentAt;
          if (sentAt >= faultStart && sentAt < faultEnd) joinAnswers.push({ ms, code: f.type === 'error' ? f.code : f.type });
          if (f.type === 'joined') {
            admitted.push(ma.room);
            await c.request({ type: 'leave' }, `l${k}`);
          }
          await sleep(300);
        }
        c.ws.close();
      })
    : [];

  await sleep(2000);
  faultStart = Date.now();
  const moves = [];
  switch (name) {
    case 'redis-restart':
    case 'redis-kill':
      redis.kill('SIGKILL');
      await waitExit(redis);
      if (name === 'redis-kill') await sleep(FAULT_MS);
      redis = launchRedis(port);
      break;
    case 'redis-freeze':
      redis.kill('SIGSTOP');
      await sleep(FAULT_MS);
      redis.kill('SIGCONT');
      break;
    case 'node-kill':
      for (const [, mb] of pairs) mb.moving = true;
      b.child.kill('SIGKILL');
      b.dead = true;
      break;
    case 'node-drain':
      for (const [, mb] of pairs) {
        mb.onBye = () => {
          mb.moving = true;
          const byeAt = Date.now();
          mb.byeAt = byeAt;
          mb.onClose = () => {
            mb.onClose = undefined;
            const token = mb.token;
            joinAs(mb, a.ws, { resume: token })
              .then(() => {
                moves.push(Date.now() - byeAt);
                mb.resumedAt = Date.now();
                mb.moving = false;
              })
              .catch(() => moves.push(Infinity));
          };
        };
      }
      b.child.kill('SIGTERM');
      b.dead = true;
      break;
  }
  faultEnd = Date.now();
  await sleep(name === 'node-kill' ? 4 * HEARTBEAT_MS + 2000 : 5000);
  clearInterval(pump);
  knocking = false;
  await Promise.all(knockers);
  await sleep(2000);
  polling = false;
  await poller;

  if (!admin.isReady) admin = await redisUp(url);
  const live = pairs.flatMap(([ma, mb]) => (name === 'node-kill' ? [ma] : [ma, mb]));
  const senders = pairs.flatMap(([ma, mb]) => (name === 'node-kill' ? [[ma, mb]] : [[ma, mb], [mb, ma]]));
  const total = { sent: 0, delivered: 0, lostTold: 0, lostUntold: 0, duplicated: 0, reordered: 0, toldButDelivered: 0 };
  let recoveryMs = 0;
  for (const [from, to] of senders) {
    const l = ledger(from, to);
    if (process.env.FI_DEBUG && l.lostUntold > 0) {
      const seen = new Set((to.got.get(from.tag) ?? []).map((g) => g.n));
      const lost = [];
      for (let i = 0; i < from.sent; i++) if (!seen.has(i) && !from.told.has(i)) lost.push(`${i}@${from.sentAt[i] - faultStart}`);
      process.stderr.write(`${from.tag} -> ${to.tag}: untold ${lost.join(' ')}; to.byeAt ${to.byeAt - faultStart} to.resumedAt ${to.resumedAt - faultStart} to.codes ${JSON.stringify(to.codes)}\n`);
    }
    for (const k of Object.keys(total)) total[k] += l[k];
    if (name === 'node-kill') continue;
    const after = (to.got.get(from.tag) ?? []).find(({ n }) => from.sentAt[n] >= faultEnd);
    recoveryMs = Math.max(recoveryMs, after === undefined ? Infinity : after.at - faultEnd);
  }
  let overCapacity = 0;
  let disagreements = 0;
  for (const [ma] of pairs) {
    const inRedis = (await admin.hKeys(`${prefix}room:{${b64(ma.room)}}:members`)).sort();
    if (inRedis.length > 2) overCapacity++;
    if (live.filter((m) => m.room === ma.room).some((m) => m.view().join() !== inRedis.join())) disagreements++;
  }
  const extraReady = live.filter((m) => m.ready > 1).length;
  const codes = {};
  for (const m of live) for (const [c, n] of Object.entries(m.codes)) codes[c] = (codes[c] ?? 0) + n;
  const rel = (t) => `${t.node} ${t.status} at ${t.at - faultStart >= 0 ? '+' : ''}${t.at - faultStart} ms`;
  const readiness = transitions.filter((t) => t.at >= faultStart).map(rel);
  const joinMax = joinAnswers.length === 0 ? undefined : Math.max(...joinAnswers.map((j) => j.ms));
  const joinCodes = [...new Set(joinAnswers.map((j) => j.code))];

  for (const m of [...pairs.flat()]) m.ws?.terminate();
  await Promise.all(nodes.map((n) => stop(n.child, 3000)));
  await admin.close().catch(() => undefined);
  redis.kill('SIGKILL');
  await waitExit(redis);
  return { name, total, recoveryMs, admitted: admitted.length, overCapacity, disagreements, extraReady, codes, readiness, joinMax, joinCodes, moves, faultMs: faultEnd - faultStart };
}

// ---- report ------------------------------------------------------------------------------------

function row(r) {
  const t = r.total;
  const rec = r.name === 'node-kill' ? 'n/a' : Number.isFinite(r.recoveryMs) ? `${r.recoveryMs} ms` : 'never';
  const joins = r.joinMax === undefined ? 'n/a' : `max ${r.joinMax} ms (${r.joinCodes.join(', ')})`;
  return `| ${r.name} | ${r.faultMs} ms | ${t.sent} | ${t.delivered} | ${t.lostTold} | **${t.lostUntold}** | ${t.duplicated} | ${t.reordered} | ${t.toldButDelivered} | **${r.admitted + r.overCapacity}** | **${r.disagreements}** | ${r.extraReady} | ${joins} | ${rec} |`;
}

const startedAt = new Date();
const loadBefore = loadAverage();
const results = [];
try {
  for (const name of SCENARIOS) {
    process.stderr.write(`fault-injection: ${name}...\n`);
    results.push(await scenario(name));
  }
} finally {
  await stopAll();
}
const loadAfter = loadAverage();
const command = `node bench/fault-injection.mjs${quick ? ' --quick' : ''} --fault-ms ${FAULT_MS} --rooms ${ROOMS} --rate ${RATE}`;
const lines = [
  '## Reliability under faults',
  '',
  `Measured by \`${command}\` (after \`npm run build\`) on ${startedAt.toISOString()}: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadBefore} before and ${loadAfter} after (1/5/15 min; the machine was shared).`,
  `Two \`sigctl serve --redis\` nodes (node heartbeat ${HEARTBEAT_MS} ms, defaults otherwise: \`redis.timeoutMs\` 1000, \`redis.recoveryWindowMs\` 5000), ${ROOMS} rooms of 2 with one member on each node, each member sending ${RATE} numbered signals/s to its peer; newcomers knock on every full room through node a every 300 ms during the Redis scenarios. What each column means: docs/reliability.md.`,
  '',
  '| scenario | fault | signals sent | delivered | lost, sender told | lost untold | duplicated | reordered | told but delivered | capacity violations | membership disagreements | extra ready | joins during the fault | recovery |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
  ...results.map(row),
  '',
  '/readyz transitions (relative to the fault\'s start) and the error codes the members received:',
  '',
  ...results.map((r) => `- ${r.name}: ${r.readiness.join('; ') || 'no change'}; errors ${JSON.stringify(r.codes)}${r.moves.length > 0 ? `; bye -> resumed on node a: max ${Math.max(...r.moves)} ms` : ''}`),
  '',
];
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, lines.join('\n'));
process.stdout.write(lines.join('\n'));
