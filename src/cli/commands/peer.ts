/**
 * `sigctl peer --room X`: a real WebRTC peer (werift) that joins a room on a signaling server and
 * connects to every other member. Modes: chat on a TTY, --echo, --send FILE / --recv DIR. With
 * --json, one JSON event per line on stdout (joined, peer-connected, message, bytes, file,
 * peer-left, error, summary). werift is loaded only here, by a dynamic import, so `serve` never
 * pays for it.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Option } from 'commander';
import type { Ora } from 'ora';
import { isSigctlError, SigctlError } from '../../protocol/errors.js';
import type { IceServer } from '../../protocol/messages.js';
import type { RunEvent, RunSummary } from '../../peer/run.js';
import { deferX509Load } from '../../peer/werift-x509.js';
import { collect, intOption, numberOption, type RegisterCommand } from '../command.js';
import type { CliContext } from '../context.js';
import { browserLink } from '../reachable.js';
import type { GlobalOptions, Output } from '../output.js';

interface PeerOptions {
  room: string;
  url: string;
  name?: string;
  token?: string;
  capacity?: number;
  iceServer?: string[];
  relayOnly?: boolean;
  dialect?: 'sigctl' | 'seed' | 'plain';
  echo?: boolean;
  send?: string;
  recv?: string;
  count?: number;
  timeout?: number;
}

export const DEFAULT_URL = 'ws://127.0.0.1:8080/ws';

/**
 * Parses --ice-server: a stun:/turn:/turns: URL; TURN credentials go before the host as in
 * `turn:USER:PASS@host:3478?transport=udp`.
 */
export function parseIceServer(value: string): IceServer {
  const withCreds = /^(turns?):([^:@/]+):([^@/]+)@(.+)$/.exec(value);
  if (withCreds !== null) {
    const [, scheme, username, credential, rest] = withCreds;
    return { urls: `${scheme}:${rest}`, username: decodeURIComponent(username!), credential: decodeURIComponent(credential!) };
  }
  if (!/^(stuns?|turns?):[^\s]+$/.test(value)) {
    throw new SigctlError('USAGE', `--ice-server ${JSON.stringify(value)}: expected stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT][?transport=udp|tcp]`);
  }
  return { urls: value };
}

async function checkPaths(opts: PeerOptions, cwd: string): Promise<{ send?: string; recv?: string }> {
  const out: { send?: string; recv?: string } = {};
  if (opts.send !== undefined) {
    const p = resolve(cwd, opts.send);
    const s = await stat(p).catch(() => undefined);
    if (s?.isFile() !== true) throw new SigctlError('USAGE', `--send ${opts.send}: no such file`);
    out.send = p;
  }
  if (opts.recv !== undefined) {
    const p = resolve(cwd, opts.recv);
    const s = await stat(p).catch(() => undefined);
    if (s?.isDirectory() !== true) throw new SigctlError('USAGE', `--recv ${opts.recv}: no such directory`);
    out.recv = p;
  }
  return out;
}

const ms = (v: number | undefined): string => (v === undefined ? '?' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(fraction * 100)}%`;
}

/** Human rendering: results (messages) on stdout, progress and connection lines on stderr. */
function humanRenderer(out: Output, url: string): { onEvent: (e: RunEvent) => void; stop: () => void } {
  const c = out.color;
  // A pseudo-terminal that reports 0 columns makes ora redraw an "infinitely tall" spinner.
  const columns = (out.stderr as { columns?: number }).columns ?? 0;
  let spinner: Ora | undefined = columns > 0 ? out.spinner(`connecting to ${url}`) : undefined;
  const say = (line: string): void => {
    if (spinner !== undefined) spinner.stopAndPersist({ symbol: ' ', text: line }).start();
    else out.info(line);
  };
  const onEvent = (e: RunEvent): void => {
    switch (e.type) {
      case 'joined':
        say(`joined ${c.bold(e.room)} as ${e.self.name} (${e.self.id}); ${e.peers.length === 0 ? 'waiting for peers' : `${e.peers.length} peer(s) here`}`);
        say(`join from a browser: ${browserLink(url, e.room)}`);
        if (spinner !== undefined) spinner.text = e.peers.length === 0 ? 'waiting for peers' : 'negotiating';
        return;
      case 'peer-joined':
        if (spinner !== undefined) spinner.text = `negotiating with ${e.name}`;
        return;
      case 'peer-connected':
        say(
          `${c.green('connected')} ${c.bold(e.name)} via ${e.pair}${e.rttMs === undefined ? '' : ` (rtt ${ms(e.rttMs)})`}: ` +
            `signaling ${ms(e.signalingMs)} · ICE ${ms(e.iceMs)} · DTLS ${ms(e.dtlsMs)} · channel ${ms(e.channelMs)}`,
        );
        if (spinner !== undefined) spinner.text = 'connected';
        return;
      case 'message':
        if (spinner !== undefined) spinner.clear();
        out.result(e.text !== undefined ? `${c.cyan(e.name)}: ${e.text}` : `${c.cyan(e.name)}: <${e.bytes ?? 0} bytes>`);
        spinner?.render();
        return;
      case 'bytes':
        if (spinner !== undefined) spinner.text = `${e.direction === 'sent' ? 'sending' : 'receiving'} ${e.file} ${bar(e.total === 0 ? 1 : e.bytes / e.total)} ${mib(e.bytes)}/${mib(e.total)}`;
        return;
      case 'file': {
        const rate = e.ms > 0 ? ` (${(e.bytes / 1024 / 1024 / (e.ms / 1000)).toFixed(1)} MiB/s)` : '';
        const verb = e.direction === 'sent' ? `sent ${e.file} to` : `received ${e.file} from`;
        const status = e.ok ? c.green('sha256 ok') : c.red('sha256 MISMATCH');
        out.result(`${verb} ${e.name}: ${mib(e.bytes)} in ${(e.ms / 1000).toFixed(2)} s${rate}, ${status} ${e.sha256}${e.path === undefined ? '' : ` -> ${e.path}`}`);
        return;
      }
      case 'peer-left':
        say(`${c.yellow('left')} ${e.name} (${e.reason})`);
        return;
      case 'reconnecting':
        if (spinner !== undefined) spinner.text = `signaling connection lost (${e.code}); reconnecting in ${e.delayMs} ms (attempt ${e.attempt})`;
        else out.info(`signaling connection lost (${e.code}); reconnecting in ${e.delayMs} ms (attempt ${e.attempt})`);
        return;
      case 'resumed':
        say('signaling connection resumed');
        return;
      case 'error':
        // The run's fatal error is printed once by the command; per-peer and protocol errors here.
        if (e.peer !== undefined || e.code === 'BAD_MESSAGE' || e.code === 'TRANSFER_FAILED') {
          if (spinner !== undefined) spinner.clear();
          out.error(e.code, e.message);
          spinner?.render();
        }
        return;
      case 'summary':
        spinner?.stop();
        spinner = undefined;
        if (e.reason !== 'error') out.info(c.dim(summaryLine(e)));
        return;
    }
  };
  return {
    onEvent,
    stop: () => {
      spinner?.stop();
      spinner = undefined;
    },
  };
}

function summaryLine(s: RunSummary): string {
  const parts = [`${s.peersConnected} peer(s)`, `${s.messagesIn} in / ${s.messagesOut} out`];
  if (s.filesSent + s.filesReceived > 0) parts.push(`${s.filesSent} file(s) sent, ${s.filesReceived} received`);
  return `done (${s.reason}) after ${(s.durationMs / 1000).toFixed(1)} s: ${parts.join(', ')}`;
}

async function peer(ctx: CliContext, opts: PeerOptions & GlobalOptions): Promise<number> {
  // This process is only a peer: werift may load without @peculiar/x509 (the session makes its
  // own DTLS certificate). Before anything imports werift.
  const x509 = deferX509Load();
  if (!x509.deferred) ctx.out.debug(`werift loads @peculiar/x509: ${x509.reason}`);
  // Loaded here, not at the top: `serve` must never load werift. run.js itself does not load
  // werift either: the session starts it while its WebSocket connects (docs/peer.md, start-up).
  const loading = import('../../peer/run.js');
  loading.catch(() => undefined); // awaited below, after the flags are checked
  const paths = await checkPaths(opts, ctx.cwd);
  const iceServers = (opts.iceServer ?? []).map(parseIceServer);
  const json = ctx.out.json;
  const { createPeerRun } = await loading;
  const run = createPeerRun({
    url: opts.url,
    room: opts.room,
    name: opts.name,
    token: opts.token,
    tokenIn: 'header',
    capacity: opts.capacity,
    iceServers,
    relayOnly: opts.relayOnly === true,
    dialect: opts.dialect,
    echo: opts.echo === true,
    sendFile: paths.send,
    recvDir: paths.recv,
    count: opts.count,
    timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
    signal: ctx.signal,
  });
  const human = json ? undefined : humanRenderer(ctx.out, opts.url);
  run.on('event', (e) => {
    if (json) ctx.out.jsonLine(e);
    else human?.onEvent(e);
  });

  // Interactive chat only on a TTY: a pipe on stdin is not a person typing.
  const chat = ctx.stdinIsTTY && !json && opts.echo !== true && paths.send === undefined;
  const rl = chat ? createInterface({ input: ctx.stdin, terminal: false }) : undefined;
  rl?.on('line', (line) => {
    const n = run.sendText(line);
    if (n === 0 && line !== '') ctx.out.warn('no connected peer yet; message not sent');
  });
  try {
    await run.run();
    return 0;
  } catch (err) {
    const error = isSigctlError(err) ? err : new SigctlError('INTERNAL', err instanceof Error ? err.message : String(err));
    if (ctx.signal.aborted) return 0; // main maps an interrupted run to 130/143
    // In JSON mode the run already emitted the error event; print it once for humans.
    if (!json) ctx.out.error(error.code, error.message);
    return error.exitCode;
  } finally {
    human?.stop();
    rl?.close();
  }
}

/** `sigctl peer`. */
export const registerPeer: RegisterCommand = (program, run) => {
  program
    .command('peer')
    .description('join a room as a real WebRTC peer (werift) and connect to every other member')
    .requiredOption('--room <id>', 'room to join')
    .addOption(new Option('--url <url>', 'signaling server WebSocket URL').env('SIGCTL_URL').default(DEFAULT_URL))
    .option('--name <name>', 'display name other members see')
    .addOption(new Option('--token <jwt>', 'bearer token when the server requires auth').env('SIGCTL_TOKEN'))
    .option('--capacity <n>', 'room capacity to ask for when this peer creates the room (mesh)', intOption(1, 1024))
    .option('--ice-server <url>', 'extra ICE server, repeatable: stun:HOST:PORT or turn:USER:PASS@HOST:PORT', collect)
    .option('--relay-only', 'use only TURN relay candidates; fails if there are none')
    .addOption(new Option('--dialect <name>', 'signal payloads to send first: sigctl, seed ({"type":"OFFER","sdp"}) or plain ({"type":"offer","sdp"}); each peer is answered in its own (docs/peer.md)').choices(['sigctl', 'seed', 'plain']))
    .option('--echo', 'echo every message back to its sender')
    .option('--send <file>', 'send FILE to every peer (SHA-256 checked by the receiver)')
    .option('--recv <dir>', 'save received files into DIR')
    .option('--count <n>', 'stop after N messages/files received (with --send: after N peers got the file)', intOption(1))
    .option('--timeout <s>', 'stop after S seconds (an error if --send/--count is not done by then)', numberOption(0))
    .option('--json', 'one JSON event per line on stdout')
    .addHelpText(
      'after',
      `
Examples:
  sigctl peer --room demo                          chat (type lines; received lines are printed)
  sigctl peer --room demo --echo                   the far end for a browser app or CI
  sigctl peer --room demo --send ./file.bin --json send a file, JSON events on stdout
  sigctl peer --room demo --recv ./downloads --count 1`,
    )
    .action(run<PeerOptions>((ctx, opts) => peer(ctx, opts)));
};
