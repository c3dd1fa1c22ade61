/**
 * `sigctl` on a real terminal (tmux, test/helpers/tty.ts): Ctrl-C and Ctrl-\ in peer's --echo,
 * --send and --recv modes and in bench (ora must not put the terminal in raw mode), the chat as a
 * readline prompt (line editing never reaches the other side, history, Ctrl-D leaves), the status
 * after the other peer left, and the units of a file transfer's result line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { BIN } from '../helpers/cli-run.js';
import { jsonLines, startCli, stopAll } from '../helpers/peer-cli.js';
import { startPeerTestServer } from '../helpers/peer-server.js';
import { requires } from '../helpers/requires.js';
import { Tty } from '../helpers/tty.js';

describe('sigctl on a terminal', requires('tmux'), () => {
  let server: SignalingServer;
  let url: string;
  let dir: string;
  const ttys: Tty[] = [];

  beforeAll(async () => {
    server = await startPeerTestServer();
    url = server.url;
    dir = await mkdtemp(join(tmpdir(), 'sigctl-tty-'));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(ttys.splice(0).map((t) => t.close()));
    await stopAll();
  });

  async function sigctl(args: readonly string[]): Promise<Tty> {
    const tty = await Tty.start([process.execPath, BIN, ...args], { cwd: dir, env: { SIGCTL_URL: undefined, SIGCTL_TOKEN: undefined } });
    ttys.push(tty);
    return tty;
  }

  it.each([
    ['--echo', ['--echo']],
    ['--recv', ['--recv', 'in']],
    ['--send', ['--send', 'BIN']],
  ])('peer %s: Ctrl-C leaves the room and exits 130', async (_mode, extra) => {
    const args = extra.map((a) => (a === 'BIN' ? BIN : a));
    const tty = await sigctl(['peer', '--room', `ctrl-c${extra[0]}`, '--url', url, ...args]);
    await tty.waitFor(/waiting for peers/, 15_000);
    await tty.keys('C-c');
    expect(await tty.exitCode(15_000)).toBe(130);
    expect(await tty.screen()).toMatch(/done \(aborted\)/);
  });

  it('peer --echo: Ctrl-\\ quits', async () => {
    const tty = await sigctl(['peer', '--room', 'ctrl-quit', '--url', url, '--echo']);
    await tty.waitFor(/waiting for peers/, 15_000);
    await tty.keys('C-\\');
    expect(await tty.exitCode(15_000)).toBe(131);
  });

  it('bench: Ctrl-C stops the run and exits 130', async () => {
    const tty = await sigctl(['bench', 'signaling', '--clients', '2', '--rate', '1', '--duration', '60']);
    await tty.waitFor(/measuring|warm|window|signaling/i, 20_000, 'the bench to start');
    await tty.keys('C-c');
    expect(await tty.exitCode(20_000)).toBe(130);
  });

  it('the status line says "waiting for peers" again after the other peer left', async () => {
    const tty = await sigctl(['peer', '--room', 'status', '--url', url, '--echo']);
    await tty.waitFor(/waiting for peers/, 15_000);
    const other = startCli(['peer', '--room', 'status', '--url', url, '--name', 'visitor', '--json', '--count', '1', '--message', 'hi']);
    await tty.waitFor(/left visitor/, 30_000, 'the visitor to come and go');
    expect((await other.exit(10_000)).code).toBe(0);
    const screen = await tty.waitFor(/left visitor[\s\S]*waiting for peers\s*$/, 5_000, 'the status after the visitor left');
    expect(screen).not.toMatch(/left visitor[\s\S]*connected to \d+ peer\(s\)\s*$/);
    await tty.keys('C-c');
    expect(await tty.exitCode(15_000)).toBe(130);
  });

  it('chat: a readline prompt; edits and arrows never reach the other side; history; Ctrl-D leaves (exit 0)', async () => {
    const echo = startCli(['peer', '--room', 'chat', '--url', url, '--name', 'echo', '--echo', '--json', '--timeout', '60']);
    await echo.waitForLine((l) => l.includes('"joined"'), 15_000, 'echo joined');
    const tty = await sigctl(['peer', '--room', 'chat', '--url', url, '--name', 'me']);
    await tty.waitFor(/connected echo/, 30_000);
    // "helxo", cursor left once, Backspace deletes the x: the line is "helo".
    await tty.type('helxo');
    await tty.keys(['Left', 'BSpace', 'Enter']);
    await tty.waitFor(/echo: helo/, 10_000, 'the echo of the edited line');
    // Up recalls the last line from history.
    await tty.keys(['Up', 'Enter']);
    await echo.waitForLine((l) => jsonLines([l]).some((e) => e.type === 'message'), 10_000, 'first message at the echo');
    const screen = await tty.waitFor(/echo: helo[\s\S]*echo: helo/, 10_000, 'the second echo');
    expect(screen).toMatch(/^> helo$/m); // own line shown as typed
    await tty.keys('C-d');
    expect(await tty.exitCode(15_000)).toBe(0);
    await echo.waitForLine((l) => l.includes('"peer-left"'), 10_000, 'the chat peer to leave');
    const received = jsonLines(echo.lines).filter((e) => e.type === 'message').map((e) => e.text);
    expect(received).toEqual(['helo', 'helo']);
  });

  it('a file transfer ends with sizes and rate in sensible units', async () => {
    await writeFile(join(dir, 'tiny.txt'), 'hello');
    const recv = startCli(['peer', '--room', 'units', '--url', url, '--recv', join(dir, 'got'), '--count', '1', '--json']);
    await recv.waitForLine((l) => l.includes('"joined"'), 15_000, 'receiver joined');
    const tty = await sigctl(['peer', '--room', 'units', '--url', url, '--send', 'tiny.txt']);
    expect(await tty.exitCode(30_000)).toBe(0);
    expect(await tty.screen()).toMatch(/sent tiny\.txt to \S+: 5 B in \d+(\.\d+)? (ms|s) \([\d.]+ (B|KiB)\/s\), sha256 ok/);
  });
});
