/**
 * The built CLI as a user runs it: `sigctl serve` in one process, `sigctl peer --room r --echo` in
 * another, and `sigctl peer --room r --send FILE --json` whose JSON-lines output is checked. Also:
 * a full room and an unreachable server end with clear coded errors, and Ctrl-C exits 130.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli-run.js';
import { WERIFT_PATCH_NAMES } from '../../src/peer/patches/index.js';
import { jsonLines, startCli, stopAll, type CliProcess } from '../helpers/peer-cli.js';

let dir: string | undefined;

afterEach(async () => {
  await stopAll();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function serve(): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['serve', '--port', '0', '--json', '--log-level', 'warn']);
  const line = await proc.waitForLine((l) => l.includes('"listening"'), 10_000, 'serve banner');
  const banner = JSON.parse(line) as { ws: string };
  return { proc, url: banner.ws };
}

const isJoined = (l: string): boolean => l.includes('"type":"joined"');

describe('sigctl peer (e2e)', () => {
  it('serve + peer --echo + peer --send FILE --json: the file arrives with a matching SHA-256', async () => {
    const { url } = await serve();
    dir = await mkdtemp(join(tmpdir(), 'sigctl-e2e-'));
    const file = join(dir, 'hello.bin');
    const data = randomBytes(1024 * 1024 + 123);
    await writeFile(file, data);
    const sha = createHash('sha256').update(data).digest('hex');

    const echo = startCli(['peer', '--room', 'r', '--echo', '--url', url, '--name', 'echo', '--json', '--timeout', '60']);
    await echo.waitForLine(isJoined, 10_000, 'echo joined');

    const res = await runCli(['peer', '--room', 'r', '--send', file, '--json', '--url', url, '--name', 'sender', '--timeout', '30'], { timeoutMs: 40_000 });
    expect(res.code, res.stderr).toBe(0);
    const events = jsonLines(res.stdout.split('\n'));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('joined');
    // The werift runtime patches this process runs with: all of them on the pinned werift.
    expect(events.find((e) => e.type === 'patches')).toMatchObject({ engine: 'werift', weriftVersion: '0.24.4', skipped: [] });
    expect((events.find((e) => e.type === 'patches')?.applied as unknown[] | undefined)?.length).toBe(WERIFT_PATCH_NAMES.length);
    expect(types).toContain('peer-connected');
    expect(types.at(-1)).toBe('summary');
    const connected = events.find((e) => e.type === 'peer-connected');
    expect(connected).toMatchObject({ name: 'echo', pair: 'host' });
    expect(typeof connected?.signalingMs).toBe('number');
    expect(typeof connected?.iceMs).toBe('number');
    expect(events.find((e) => e.type === 'file')).toMatchObject({ direction: 'sent', file: 'hello.bin', bytes: data.length, sha256: sha, ok: true });
    expect(events.some((e) => e.type === 'bytes' && e.bytes === data.length)).toBe(true);
    expect(events.at(-1)).toMatchObject({ reason: 'sent', filesSent: 1, bytesSent: data.length, errors: 0 });
    // Every stdout line is JSON.
    expect(res.stdout.trim().split('\n').length).toBe(events.length);

    // The echo side verified the same file and saw the sender leave.
    await echo.waitForLine((l) => l.includes('"type":"peer-left"'), 10_000, 'echo sees the sender leave');
    expect(jsonLines(echo.lines).find((e) => e.type === 'file')).toMatchObject({ direction: 'received', sha256: sha, ok: true });

    // Ctrl-C: leaves the room cleanly and exits 130.
    echo.child.kill('SIGINT');
    expect((await echo.exit(10_000)).code).toBe(130);
    expect(jsonLines(echo.lines).at(-1)).toMatchObject({ type: 'summary', reason: 'aborted' });
  });

  it('a full room and an unreachable server fail with coded errors and exit 1', async () => {
    const { url } = await serve();
    const a = startCli(['peer', '--room', 'full', '--echo', '--url', url, '--json', '--timeout', '60']);
    await a.waitForLine(isJoined, 10_000, 'first joined');
    const b = startCli(['peer', '--room', 'full', '--echo', '--url', url, '--json', '--timeout', '60']);
    await b.waitForLine(isJoined, 10_000, 'second joined');
    const third = await runCli(['peer', '--room', 'full', '--url', url, '--json'], { timeoutMs: 20_000 });
    expect(third.code).toBe(1);
    expect(jsonLines(third.stdout.split('\n'))[0]).toMatchObject({ type: 'error', code: 'ROOM_FULL' });

    const down = await runCli(['peer', '--room', 'x', '--url', 'ws://127.0.0.1:9/ws'], { timeoutMs: 20_000 });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(down.stdout).toBe('');
  });

  it('notices its stdout reader went away without writing again (`sigctl peer --json | head -1` in an empty room)', async () => {
    const { url } = await serve();
    // A real shell pipeline: nobody else joins, so nothing more is written and no EPIPE will ever
    // tell it; without watching its reader it would run until --timeout (60 s).
    const pipeline = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" peer --room empty --url ${url} --json --timeout 60 | head -1`], {
      env: { ...process.env, NO_COLOR: '1', SIGCTL_URL: undefined, SIGCTL_TOKEN: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    pipeline.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    pipeline.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        pipeline.kill('SIGKILL');
        reject(new Error(`the pipeline did not end within 20 s\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, 20_000);
      pipeline.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, stderr).toBe(0);
    expect(jsonLines(stdout.split('\n')).map((e) => e.type)).toEqual(['joined']);
    expect(stderr).not.toMatch(/EPIPE|Unhandled|INTERNAL/);
  });

  it('stops quietly with exit 0 when the reader of its stdout goes away (`sigctl peer --json | head -1`)', async () => {
    const { url } = await serve();
    const reader = startCli(['peer', '--room', 'pipe', '--echo', '--url', url, '--json', '--timeout', '60']);
    await reader.waitForLine(isJoined, 10_000, 'joined');
    // Close the read end of its stdout, as `head -1` does after one line; the next event it prints
    // (a peer joining) meets EPIPE.
    reader.child.stdout.destroy();
    const other = startCli(['peer', '--room', 'pipe', '--echo', '--url', url, '--json', '--timeout', '60']);
    await other.waitForLine(isJoined, 10_000, 'second joined');
    const { code } = await reader.exit(10_000);
    expect(code, reader.stderr).toBe(0);
    expect(reader.stderr).not.toMatch(/EPIPE|Unhandled|INTERNAL/);
    // It left the room: a third peer gets in where a full room (capacity 2) would refuse it.
    const third = startCli(['peer', '--room', 'pipe', '--echo', '--url', url, '--json', '--timeout', '60']);
    await third.waitForLine(isJoined, 10_000, 'third joined after the first left');
  });
});
