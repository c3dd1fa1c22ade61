/**
 * Issue 13, "the first hour of a new user", with the built CLI: what a newcomer types in the
 * first minutes (help, a malformed flag, a broken config, a script sending a line to an echo
 * peer, --recv into a new directory, --relay-only with TURN down) ends the way the docs say.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { BIN, runCli } from '../helpers/cli-run.js';
import { jsonLines, startCli, stopAll } from '../helpers/peer-cli.js';
import { startPeerTestServer } from '../helpers/peer-server.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigctl-first-hour-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await stopAll();
});

const clean = { cleanEnv: true } as const;

describe('help and usage errors', () => {
  // serve's help is its own branch's (issue 13, serve items).
  it.each(['peer', 'bench', 'token', 'config'])('`sigctl %s --help` has examples and lists the global --config', async (command) => {
    const r = await runCli([command, '--help'], clean);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nExamples:\n/);
    expect(r.stdout).toMatch(/-c, --config <file>/);
  });

  it('peer --help marks --room required; bench --help names no file outside the package', async () => {
    expect((await runCli(['peer', '--help'], clean)).stdout).toMatch(/--room <id>\s+room to join \(required\)/);
    const bench = (await runCli(['bench', '--help'], clean)).stdout;
    expect(bench).not.toMatch(/bench\/floor\.sh|\.sh\b/);
  });

  it('--echo with --send is refused as conflicting; --count 0 says "at least 1"', async () => {
    const both = await runCli(['peer', '--room', 'r', '--echo', '--send', BIN], clean);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/USAGE: option '--echo' cannot be used with option '--send <file>'/);
    const zero = await runCli(['peer', '--room', 'r', '--count', '0'], clean);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/expected an integer of at least 1\./);
    expect(zero.stderr).not.toMatch(/9007199254740991/);
  });

  it('a malformed --url is USAGE (exit 2) in peer as in bench', async () => {
    for (const args of [['peer', '--room', 'r', '--url', 'ws//bad'], ['bench', '--url', 'ws//bad']]) {
      const r = await runCli(args, clean);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/error USAGE: --url "ws\/\/bad" is not a URL/);
    }
  });

  it('--json errors have one shape, for usage and runtime errors alike', async () => {
    const usage = await runCli(['peer', '--json'], clean);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ type: 'error', code: 'USAGE', message: "required option '--room <id>' not specified" });
    const badUrl = await runCli(['peer', '--room', 'r', '--url', 'ws//bad', '--json'], clean);
    expect(JSON.parse(badUrl.stdout)).toEqual({ type: 'error', code: 'USAGE', message: expect.stringMatching(/^--url/) as unknown });
    const down = await runCli(['peer', '--room', 'r', '--url', 'ws://127.0.0.1:9/ws', '--json'], { ...clean, timeoutMs: 20_000 });
    expect(jsonLines(down.stdout.split('\n'))[0]).toMatchObject({ type: 'error', code: 'SERVER_UNREACHABLE', message: expect.any(String) as unknown });
    const bench = await runCli(['bench', '--url', 'ws//bad', '--json'], clean);
    expect(JSON.parse(bench.stdout)).toEqual({ type: 'error', code: 'USAGE', message: expect.stringMatching(/^--url/) as unknown });
  });

  it('bin/sigctl without a build prints one line naming `npm run build`, no stack trace', async () => {
    const copy = join(dir, 'unbuilt');
    await mkdir(join(copy, 'bin'), { recursive: true });
    await copyFile(BIN, join(copy, 'bin', 'sigctl'));
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(copy, 'bin', 'sigctl'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.code).toBe(1);
    expect(r.out).toBe('error INTERNAL: sigctl is not built (dist/bundle/main.js is missing): run `npm run build`\n');
  });
});

describe('config', () => {
  it('config check names environment sources; config print says where each value came from once', async () => {
    const check = await runCli(['config', 'check'], { ...clean, cwd: dir, env: { SIGCTL_PORT: '9001' } });
    expect(check.code).toBe(0);
    expect(check.stdout).toBe('config ok: environment SIGCTL_PORT over the defaults\n');
    const print = await runCli(['config', 'print'], { ...clean, cwd: dir, env: { SIGCTL_PORT: '9001' } });
    expect(print.stdout).toMatch(/^port = 9001 {2}# env SIGCTL_PORT$/m);
    expect(print.stdout).toMatch(/^host = "127\.0\.0\.1" {2}# default \(or SIGCTL_HOST\)$/m);
  });

  it('SIGCTL_CONFIG names the config file', async () => {
    await writeFile(join(dir, 'env-named.json'), JSON.stringify({ port: 9002 }));
    const r = await runCli(['config', 'print', '--json'], { ...clean, cwd: dir, env: { SIGCTL_CONFIG: 'env-named.json' } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: join(dir, 'env-named.json'), config: { port: 9002 } });
  });

  it('a broken JSON config is CONFIG_INVALID with one code frame', async () => {
    await writeFile(join(dir, 'broken.json'), '{\n  "port": 8080,,\n}\n');
    const r = await runCli(['config', 'check', '--config', 'broken.json'], { ...clean, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error CONFIG_INVALID: cannot parse config file /);
    expect(r.stderr.match(/> 2 \|/g)).toHaveLength(1);
  });

  it('SIGCTL_LOG=debug suggests SIGCTL_LOG_LEVEL', async () => {
    const r = await runCli(['config', 'check'], { ...clean, cwd: dir, env: { SIGCTL_LOG: 'debug' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown environment variable SIGCTL_LOG \(did you mean SIGCTL_LOG_LEVEL\?\)/);
  });
});

describe('peer against a server', () => {
  let server: SignalingServer;
  beforeAll(async () => {
    server = await startPeerTestServer({ rooms: { maxCapacity: 16 } });
  });
  afterAll(async () => {
    await server.close();
  });

  async function echoPeer(room: string): Promise<void> {
    const echo = startCli(['peer', '--room', room, '--url', server.url, '--echo', '--json', '--timeout', '60']);
    await echo.waitForLine((l) => l.includes('"type":"joined"'), 15_000, 'echo joined');
  }

  it('`echo hi | sigctl peer --room r --count 1` round-trips against --echo', async () => {
    await echoPeer('piped');
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'peer', '--room', 'piped', '--url', server.url, '--count', '1', '--timeout', '30'], {
        env: { ...process.env, NO_COLOR: '1', SIGCTL_URL: undefined, SIGCTL_TOKEN: undefined },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no exit within 40 s\n${stdout}\n${stderr}`));
      }, 40_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end('hi\n');
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\S+: hi$/m);
  });

  it('--message TEXT (repeatable) is sent once a peer is connected', async () => {
    await echoPeer('messages');
    const r = await runCli(['peer', '--room', 'messages', '--url', server.url, '--message', 'one', '--message', 'two', '--count', '2', '--json', '--timeout', '30'], {
      ...clean,
      timeoutMs: 40_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const texts = jsonLines(r.stdout.split('\n')).filter((e) => e.type === 'message').map((e) => e.text);
    expect(texts).toEqual(['one', 'two']);
  });

  it('an error that ends the run is printed once (--capacity over the server maximum)', async () => {
    const r = await runCli(['peer', '--room', 'big', '--url', server.url, '--capacity', '100'], { ...clean, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.match(/error BAD_MESSAGE/g)).toHaveLength(1);
  });

  it('--recv DIR is created when missing; an existing file is kept and the new one saved as "name (1).ext"', async () => {
    const payload = join(dir, 'note.txt');
    await writeFile(payload, 'new content');
    const inbox = join(dir, 'inbox', 'nested');
    for (const round of [1, 2]) {
      if (round === 2) await writeFile(join(inbox, 'note.txt'), 'old content'); // an unrelated file of the same name
      const room = `recv-${round}`;
      const rx = startCli(['peer', '--room', room, '--url', server.url, '--recv', inbox, '--count', '1', '--json', '--timeout', '30']);
      await rx.waitForLine((l) => l.includes('"type":"joined"'), 15_000, 'receiver joined');
      const tx = await runCli(['peer', '--room', room, '--url', server.url, '--send', payload, '--json', '--timeout', '30'], { ...clean, timeoutMs: 40_000 });
      expect(tx.code, tx.stderr).toBe(0);
      expect((await rx.exit(20_000)).code).toBe(0);
    }
    expect((await readdir(inbox)).sort()).toEqual(['note (1).txt', 'note.txt']);
    expect(await readFile(join(inbox, 'note.txt'), 'utf8')).toBe('old content');
    expect(await readFile(join(inbox, 'note (1).txt'), 'utf8')).toBe('new content');
  }, 90_000);

  it('--relay-only with a TURN server that does not answer exits non-zero (pre-flight), and with an unusable one too (gathering)', async () => {
    // UDP port 9 (discard): nothing answers; the pre-flight gives up after its bound.
    const silent = await runCli(['peer', '--room', 'relay-a', '--url', server.url, '--relay-only', '--ice-server', 'turn:u:p@127.0.0.1:9', '--timeout', '20'], {
      ...clean,
      timeoutMs: 30_000,
    });
    expect(silent.code).toBe(1);
    expect(silent.stderr).toMatch(/NO_RELAY_CANDIDATES: --relay-only: no TURN server is usable: TURN server turn:127\.0\.0\.1:9 did not answer/);
    // A TCP TURN URL is not probed; gathering finds no relay candidate once a peer is there.
    await echoPeer('relay-b');
    const tcp = await runCli(['peer', '--room', 'relay-b', '--url', server.url, '--relay-only', '--ice-server', 'turn:u:p@127.0.0.1:9?transport=tcp', '--timeout', '20'], {
      ...clean,
      timeoutMs: 40_000,
    });
    expect(tcp.code, tcp.stderr).toBe(1);
    expect(tcp.stderr).toMatch(/NO_RELAY_CANDIDATES|TURN_AUTH_FAILED/);
    expect(tcp.stderr).not.toMatch(/done \(timeout\)/);
  }, 70_000);
});
