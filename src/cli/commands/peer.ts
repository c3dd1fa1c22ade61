/**
 * `sigctl peer --room X`: a real WebRTC peer (werift) that joins a room on a signaling server and
 * connects to every other member. Modes: chat on a TTY, --echo, --send FILE / --recv DIR. With
 * --json, one JSON event per line on stdout (joined, peer-connected, message, bytes, file,
 * peer-left, error, summary). werift is loaded only here, by a dynamic import, so `serve` never
 * pays for it.
 */
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Option } from 'commander';
import { isSigctlError, SigctlError } from '../../protocol/errors.js';
import type { IceServer } from '../../protocol/messages.js';
import { deferX509Load } from '../../peer/werift-x509.js';
import { collect, intOption, numberOption, type RegisterCommand } from '../command.js';
import type { CliContext } from '../context.js';
import type { GlobalOptions } from '../output.js';
import { Chat } from '../chat.js';
import { checkWsUrl } from '../url.js';
import { humanRenderer } from './peer-render.js';

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
  message?: string[];
  force?: boolean;
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
    if (s !== undefined && !s.isDirectory()) throw new SigctlError('USAGE', `--recv ${opts.recv}: not a directory`);
    // Like `wget -P DIR`: a directory that does not exist yet is made.
    if (s === undefined) {
      await mkdir(p, { recursive: true }).catch((err: unknown) => {
        throw new SigctlError('USAGE', `--recv ${opts.recv}: cannot create the directory: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    out.recv = p;
  }
  return out;
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
  checkWsUrl(opts.url);
  const paths = await checkPaths(opts, ctx.cwd);
  const iceServers = (opts.iceServer ?? []).map(parseIceServer);
  const json = ctx.out.json;
  // Lines to send: --message, then a piped stdin; a person on a terminal gets the chat.
  const talks = opts.echo !== true && paths.send === undefined;
  const chatting = talks && ctx.stdinIsTTY && !json && ctx.out.stderr.isTTY === true;
  const leave = new AbortController(); // Ctrl-D in the chat: leave normally (exit 0)
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
    overwrite: opts.force === true,
    count: opts.count,
    timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
    signal: AbortSignal.any([ctx.signal, leave.signal]),
    // Warnings (e.g. a werift runtime patch skipped) on stderr, so --json stdout stays one event per line.
    logger: {
      warn: (_fields, msg) => ctx.out.warn(msg ?? 'warning'),
      debug: (fields, msg) => ctx.out.debug(`${msg ?? ''} ${JSON.stringify(fields)}`),
    },
  });

  const outbox = new Outbox((text) => run.sendText(text));
  const chat = chatting
    ? new Chat({
        input: ctx.stdin,
        output: ctx.out.stderr,
        onLine: (line) => outbox.add(line),
        onEnd: () => leave.abort('EOF'),
        onInterrupt: () => ctx.interrupt('SIGINT'),
        onQuit: () => {
          chat?.close(); // the terminal back to cooked mode before the signal's default action
          ctx.interrupt('SIGQUIT');
        },
      })
    : undefined;
  const human = json ? undefined : humanRenderer(ctx.out, opts.url, { spinner: !chatting, around: chat === undefined ? undefined : (write) => chat.print(write) });
  run.on('event', (e) => {
    if (json) ctx.out.jsonLine(e);
    else human?.onEvent(e);
    if (e.type === 'peer-connected') outbox.up(e.peer);
    else if (e.type === 'peer-left') outbox.down(e.peer);
  });
  for (const m of opts.message ?? []) outbox.add(m);
  const piped = talks && !ctx.stdinIsTTY ? createInterface({ input: ctx.stdin, terminal: false }) : undefined;
  piped?.on('line', (line) => outbox.add(line));
  try {
    await run.run();
    return 0;
  } catch (err) {
    const error = isSigctlError(err) ? err : new SigctlError('INTERNAL', err instanceof Error ? err.message : String(err));
    if (ctx.signal.aborted) return 0; // main maps an interrupted run to 130/143
    // In JSON mode the run already emitted the error event; print it once for humans.
    human?.fatal(error.code, error.message);
    return error.exitCode;
  } finally {
    chat?.close();
    human?.stop();
    piped?.close();
  }
}

/**
 * Lines waiting for a peer: sent to every connected peer as soon as there is one, so
 * `echo hi | sigctl peer --room r --count 1` works whether the far end is there yet or not.
 */
class Outbox {
  private readonly queue: string[] = [];
  private readonly peers = new Set<string>();

  constructor(private readonly send: (text: string) => number) {}

  add(text: string): void {
    if (text === '') return; // an empty message blocks a werift channel
    this.queue.push(text);
    this.flush();
  }

  up(peer: string): void {
    this.peers.add(peer);
    this.flush();
  }

  down(peer: string): void {
    this.peers.delete(peer);
  }

  private flush(): void {
    if (this.peers.size === 0) return;
    for (const text of this.queue.splice(0)) this.send(text);
  }
}

/** `sigctl peer`. */
export const registerPeer: RegisterCommand = (program, run) => {
  program
    .command('peer')
    .description('join a room as a real WebRTC peer (werift) and connect to every other member')
    .requiredOption('--room <id>', 'room to join (required)')
    .addOption(new Option('--url <url>', 'signaling server WebSocket URL').env('SIGCTL_URL').default(DEFAULT_URL))
    .option('--name <name>', 'display name other members see (default: the member id)')
    .addOption(new Option('--token <jwt>', 'bearer token when the server requires auth').env('SIGCTL_TOKEN'))
    .option('--capacity <n>', 'room capacity to ask for when this peer creates the room (mesh; the server caps it)', intOption(1, 1024))
    .option('--ice-server <url>', 'extra ICE server, repeatable: stun:HOST:PORT or turn:USER:PASS@HOST:PORT', collect)
    .option('--relay-only', 'use only TURN relay candidates; fails (exit 1) if there are none')
    .addOption(new Option('--dialect <name>', 'signal payloads to send first: sigctl, seed ({"type":"OFFER","sdp"}) or plain ({"type":"offer","sdp"}); each peer is answered in its own (docs/peer.md)').choices(['sigctl', 'seed', 'plain']))
    .addOption(new Option('--echo', 'echo every message back to its sender').conflicts(['send', 'message']))
    .option('--send <file>', 'send FILE to every peer (SHA-256 checked by the receiver)')
    .option('--recv <dir>', 'save received files into DIR (created if missing; an existing file is kept and the new one saved as "name (1).ext")')
    .option('--force', 'with --recv: overwrite existing files instead')
    .addOption(new Option('--message <text>', 'send TEXT to every peer once connected, repeatable (lines piped on stdin are sent too)').argParser(collect).conflicts('send'))
    .option('--count <n>', 'stop after N messages/files received (with --send: after N peers got the file)', intOption(1))
    .option('--timeout <s>', 'stop after S seconds (an error if --send/--count is not done by then) (default: no limit)', numberOption(0))
    .option('--json', 'one JSON event per line on stdout')
    .addHelpText(
      'after',
      `
Examples:
  sigctl peer --room demo                            chat on a terminal (Ctrl-D leaves)
  sigctl peer --room demo --echo                     the far end for a browser app or CI
  echo hi | sigctl peer --room demo --count 1        send a line, exit after the answer
  sigctl peer --room demo --message hi --count 1 --json
  sigctl peer --room demo --send ./file.bin --json   send a file, JSON events on stdout
  sigctl peer --room demo --recv ./downloads --count 1`,
    )
    .action(run<PeerOptions>((ctx, opts) => peer(ctx, opts)));
};
