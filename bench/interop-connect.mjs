// Issue 17: offer -> data channel open between `sigctl peer` (werift) and other WebRTC stacks,
// through a real `sigctl serve`, in both offer directions:
//   ndc-answers       `sigctl peer` offers, libdatachannel (node-datachannel) answers
//   ndc-offers        libdatachannel offers, `sigctl peer` answers
//   chromium-answers  `sigctl peer` offers, headless Chromium answers
//   chromium-offers   Chromium offers, `sigctl peer` answers
// Every connection is a fresh `sigctl peer` process in a room of its own (what a user runs), and a
// fresh peer connection on the other side, which trickles its candidates as soon as it has them
// (as browsers and libdatachannel applications do). The time is taken on the other side's clock:
// from its offer leaving it (it offers) or from `sigctl peer`'s offer reaching it (it answers;
// one signaling hop later, under 1 ms on loopback) to its data channel open.
//
// Usage: npm run build && node bench/interop-connect.mjs [--connections 20] [--only a,b]
//          [--section bench/sections/60-interop-connect.md] [--json] [--peer-bin <path>]
//   --peer-bin: the `sigctl peer` to measure (default this checkout's bin/sigctl), e.g. a build of
//   an older commit for a before/after; the server and the other side stay this checkout's.
// Needs node-datachannel (optional dependency) and /usr/bin/chromium with playwright-core (dev
// dependency) for their scenarios; a scenario whose stack is missing is reported as skipped.
import { spawn } from 'node:child_process';
import console from 'node:console';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';
import { parseArgs } from 'node:util';

const BIN = fileURLToPath(new URL('../bin/sigctl', import.meta.url));
const SCENARIOS = ['ndc-answers', 'ndc-offers', 'chromium-answers', 'chromium-offers'];
const TITLES = {
  'ndc-answers': '`sigctl peer` offers, libdatachannel answers',
  'ndc-offers': 'libdatachannel offers, `sigctl peer` answers',
  'chromium-answers': '`sigctl peer` offers, Chromium answers',
  'chromium-offers': 'Chromium offers, `sigctl peer` answers',
};
const GOALS = { 'ndc-answers': 100, 'ndc-offers': 100, 'chromium-answers': 80, 'chromium-offers': 80 };
const CHROMIUM = process.env.SIGCTL_CHROMIUM ?? '/usr/bin/chromium';

const { values: opts } = parseArgs({
  options: {
    connections: { type: 'string', default: '20' },
    only: { type: 'string' },
    section: { type: 'string' },
    json: { type: 'boolean', default: false },
    'peer-bin': { type: 'string' },
  },
});
const connections = Number(opts.connections);
const only = opts.only === undefined ? SCENARIOS : opts.only.split(',').map((s) => s.trim());
for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (expected ${SCENARIOS.join(', ')})`);

const children = new Set();
const env = { ...process.env, NO_COLOR: '1' };
for (const k of Object.keys(env)) if (k.startsWith('SIGCTL_')) delete env[k];

const PEER_BIN = opts['peer-bin'] ?? BIN;

function start(argv, bin = BIN) {
  const child = spawn(process.execPath, [bin, ...argv], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** JSON lines of a child's stdout, to `onLine`. */
function jsonLines(child, onLine) {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) {
      try {
        onLine(JSON.parse(l));
      } catch {
        // not a JSON event
      }
    }
  });
}

/** Resolves with the first JSON event of `child` that `test` accepts; rejects after `ms`. */
function waitEvent(child, test, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    jsonLines(child, (e) => {
      if (test(e)) {
        clearTimeout(timer);
        resolve(e);
      }
    });
    child.once('exit', () => reject(new Error(`${what}: the process exited`)));
  });
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

function within(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

// ---- libdatachannel on the other side ------------------------------------------------------------

async function ndcSide(url, room, offers) {
  const ndc = await import('node-datachannel');
  const { SignalClient } = await import('../dist/client/index.js');
  const client = new SignalClient({ url, reconnect: false, connectTimeoutMs: 10_000 });
  let pc;
  let remote;
  let t0;
  const pending = [];
  let remoteSet = false;
  let resolveOpen;
  const open = new Promise((r) => (resolveOpen = r));
  const send = (data) => remote !== undefined && client.signal(data, remote);
  // Every data channel is kept referenced until close(): node-datachannel's PeerConnection holds
  // its channels weakly (libdatachannel's weak_ptr), so a channel whose JavaScript object is
  // garbage-collected before it opens is destroyed, and its DCEP OPEN is never sent (the far end
  // then waits for a channel that never comes).
  const channels = [];
  const makePc = () => {
    pc = new ndc.PeerConnection(`ndc-${room}`, { iceServers: [] });
    pc.onLocalDescription((sdp, type) => {
      if (type === 'offer') t0 = performance.now();
      send({ description: { type, sdp } });
    });
    pc.onLocalCandidate((candidate, mid) => send({ candidate: { candidate, sdpMid: mid, sdpMLineIndex: 0 } }));
    const adopt = (dc) => {
      channels.push(dc);
      if (dc.isOpen()) resolveOpen(performance.now());
      else dc.onOpen(() => resolveOpen(performance.now()));
    };
    pc.onDataChannel(adopt);
    return adopt;
  };
  client.on('signal', ({ from, data }) => {
    remote ??= from;
    if (data?.description !== undefined) {
      if (data.description.type === 'offer') t0 = performance.now();
      pc.setRemoteDescription(data.description.sdp, data.description.type);
      remoteSet = true;
      for (const c of pending.splice(0)) pc.addRemoteCandidate(c.candidate, c.sdpMid ?? '0');
    } else if (data?.candidate) {
      if (remoteSet) pc.addRemoteCandidate(data.candidate.candidate, data.candidate.sdpMid ?? '0');
      else pending.push(data.candidate);
    }
  });
  await client.connect();
  const adopt = makePc();
  return {
    async join() {
      const joined = await client.join({ room, name: 'ndc', capacity: 2 });
      if (offers) {
        remote = joined.peers[0]?.id;
        adopt(pc.createDataChannel('sigctl'));
      }
    },
    opened: () => open.then((t1) => t1 - t0),
    async close() {
      for (const dc of channels.splice(0)) {
        try {
          dc.close();
        } catch {
          // already closed
        }
      }
      try {
        pc.close();
      } catch {
        // already closed
      }
      await client.close();
    },
  };
}

// ---- Chromium on the other side ----------------------------------------------------------------

// Runs in the page: protocol v1 over the browser's own WebSocket, one RTCPeerConnection, trickle.
const PAGE = `window.interop = ({ url, room, offers }) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url, ['sigctl.v1']);
  const pc = new RTCPeerConnection({ iceServers: [] });
  let remote, t0, remoteSet = false;
  const pending = [];
  const send = (data) => remote && ws.send(JSON.stringify({ type: 'signal', to: remote, data }));
  const watch = (dc) => { dc.onopen = () => { const t1 = performance.now(); ws.close(); pc.close(); resolve(t1 - t0); }; };
  pc.onicecandidate = (e) => send({ candidate: e.candidate ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } : null });
  pc.ondatachannel = (e) => watch(e.channel);
  ws.onerror = () => reject(new Error('websocket error'));
  ws.onmessage = async (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'join', room, name: 'chromium', capacity: 2 }));
    else if (msg.type === 'joined' && offers) {
      remote = msg.peers[0].id;
      watch(pc.createDataChannel('sigctl'));
      await pc.setLocalDescription();
      t0 = performance.now();
      send({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
    } else if (msg.type === 'joined') window.joined = true;
    else if (msg.type === 'signal') {
      remote ??= msg.from;
      const d = msg.data;
      if (d.description) {
        if (d.description.type === 'offer') t0 = performance.now();
        await pc.setRemoteDescription(d.description);
        remoteSet = true;
        for (const c of pending.splice(0)) await pc.addIceCandidate(c);
        if (d.description.type === 'offer') {
          await pc.setLocalDescription();
          send({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
        }
      } else if (d.candidate) {
        if (remoteSet) await pc.addIceCandidate(d.candidate); else pending.push(d.candidate);
      }
    }
  };
});`;

async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>sigctl interop</title>');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000, args: ['--no-sandbox', '--disable-background-networking'] });
  const context = await browser.newContext();
  // With camera/microphone granted Chromium gathers host candidates instead of mDNS names.
  await context.grantPermissions(['camera', 'microphone'], { origin });
  const page = await context.newPage();
  await page.goto(origin, { timeout: 10_000 });
  await page.evaluate(PAGE);
  return {
    page,
    async close() {
      await browser.close().catch(() => undefined);
      await new Promise((r) => server.close(r));
    },
  };
}

function chromiumSide(chrome, url, room, offers) {
  let result;
  return {
    join() {
      result = chrome.page.evaluate(`window.interop(${JSON.stringify({ url, room, offers })})`);
      result.catch(() => undefined);
      return offers ? Promise.resolve() : within(waitJoined(chrome.page), 10_000, 'chromium join');
    },
    opened: () => result,
    close: () => chrome.page.evaluate('window.joined = false').catch(() => undefined),
  };
}

async function waitJoined(page) {
  await page.waitForFunction('window.joined === true', undefined, { timeout: 10_000 });
}

// ---- one connection ------------------------------------------------------------------------------

async function connectOnce(scenario, url, index, chrome) {
  const room = `interop-${scenario}-${index}-${process.pid}`;
  const remoteOffers = scenario.endsWith('-offers');
  const other = scenario.startsWith('ndc') ? await ndcSide(url, room, remoteOffers) : chromiumSide(chrome, url, room, remoteOffers);
  let peer;
  try {
    const peerArgs = ['peer', '--room', room, '--url', url, '--json', '--timeout', '30'];
    if (remoteOffers) {
      // `sigctl peer` is in the room first; the other side joins and offers.
      peer = start(peerArgs, PEER_BIN);
      await waitEvent(peer, (e) => e.type === 'joined', 20_000, 'sigctl peer joined');
      const connected = waitEvent(peer, (e) => e.type === 'peer-connected', 20_000, 'sigctl peer connected');
      connected.catch(() => undefined);
      await other.join();
      const ms = await within(other.opened(), 20_000, `${scenario} channel open`);
      return { ms, peer: await connected };
    }
    await other.join();
    peer = start(peerArgs, PEER_BIN);
    const connected = waitEvent(peer, (e) => e.type === 'peer-connected', 20_000, 'sigctl peer connected');
    connected.catch(() => undefined);
    const ms = await within(other.opened(), 20_000, `${scenario} channel open`);
    return { ms, peer: await connected };
  } finally {
    if (peer !== undefined) await stopChild(peer);
    await other.close();
  }
}

// ---- the run -------------------------------------------------------------------------------------

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => (xs.length === 0 ? NaN : sorted(xs)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]);
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');

const startedAt = new Date();
const loadBefore = loadavg()[0];
const results = [];
let serve;
let chrome;
try {
  serve = start(['serve', '--host', '127.0.0.1', '--port', '0', '--json', '--log-level', 'warn']);
  const { ws: url } = await waitEvent(serve, (e) => typeof e.ws === 'string', 10_000, 'sigctl serve listening');
  for (const scenario of only) {
    const row = { scenario, title: TITLES[scenario], goalMs: GOALS[scenario], ms: [], dtlsMs: [], failures: [], skipped: undefined };
    results.push(row);
    try {
      if (scenario.startsWith('chromium')) chrome ??= await launchChromium();
      else await import('node-datachannel');
    } catch (err) {
      row.skipped = err instanceof Error ? err.message.split('\n')[0] : String(err);
      continue;
    }
    for (let i = 0; i < connections; i++) {
      try {
        const { ms, peer } = await connectOnce(scenario, url, i, chrome);
        row.ms.push(ms);
        row.dtlsMs.push(peer.dtlsMs);
      } catch (err) {
        row.failures.push(err instanceof Error ? err.message : String(err));
      }
      if (!opts.json) process.stderr.write(`${scenario} ${i + 1}/${connections}: ${f0(row.ms.at(-1))} ms\r`);
    }
    if (!opts.json) process.stderr.write('\n');
  }
} finally {
  await chrome?.close();
  for (const c of [...children]) c.kill('SIGKILL');
}

const loadAfter = loadavg()[0];
const summary = results.map((r) => ({
  ...r,
  p50: quantile(r.ms, 0.5),
  p95: quantile(r.ms, 0.95),
  max: r.ms.length === 0 ? NaN : sorted(r.ms).at(-1),
  dtlsP50: quantile(r.dtlsMs.filter((x) => typeof x === 'number'), 0.5),
}));
const command = `node bench/interop-connect.mjs --connections ${connections}${opts.only === undefined ? '' : ` --only ${only.join(',')}`}${opts['peer-bin'] === undefined ? '' : ` --peer-bin ${opts['peer-bin']}`}`;
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;
const lines = [
  '## Connecting to other WebRTC stacks: offer -> data channel open',
  '',
  `Measured ${startedAt.toISOString()} with \`${command}\` (\`bench/interop-connect.mjs\`); ${machine}; 1-minute load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after on a shared machine. Through a local \`sigctl serve\`; every connection is a fresh \`sigctl peer\` process in a room of its own and a fresh peer connection on the other side, which trickles its candidates; time on the other side's clock, from its offer leaving it (it offers) or \`sigctl peer\`'s offer reaching it (it answers) to its data channel open. Chromium: ${CHROMIUM} headless, \`--no-sandbox --disable-background-networking\`.`,
  '',
  '| direction | connections ok | p50 ms | p95 ms | max ms | goal p50 | `sigctl peer`\'s ICE -> DTLS p50 ms |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...summary.map((r) =>
    r.skipped !== undefined
      ? `| ${r.title} | skipped: ${r.skipped} | | | | <= ${r.goalMs} | |`
      : `| ${r.title} | ${r.ms.length}/${connections} | ${f0(r.p50)} | ${f0(r.p95)} | ${f0(r.max)} | <= ${r.goalMs} | ${f0(r.dtlsP50)} |`,
  ),
  '',
];
const failures = summary.flatMap((r) => r.failures.slice(0, 3).map((f) => `- ${r.scenario}: ${f}`));
if (failures.length > 0) lines.push('Failures (first three per direction):', '', ...failures, '');
if (opts.section !== undefined) writeFileSync(opts.section, lines.join('\n'));
if (opts.json) console.log(JSON.stringify({ command, startedAt, machine, loadBefore, loadAfter, results: summary }));
else console.log(lines.join('\n'));
const ok = summary.every((r) => r.skipped !== undefined || r.ms.length > 0);
process.exitCode = ok ? 0 : 1;
