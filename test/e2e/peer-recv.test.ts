/**
 * `sigctl peer --recv DIR --count 1` as a user runs it: the receiver stops by itself after one file,
 * and its SHA-256 confirmation must reach the sender before the receiver's process exits (it used
 * to be lost in SCTP when the receiver closed its connection and exited, so the sender timed out
 * with "0/1 peers confirmed the file"). Two rounds: the loss was a race.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';
import { jsonLines, startCli, stopAll } from '../helpers/peer-cli.js';

let dir: string | undefined;

afterEach(async () => {
  await stopAll();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('sigctl peer --recv DIR --count 1 (e2e)', () => {
  it('the receiver exits 0 after one file and the sender gets its confirmation', async () => {
    const serve = startCli(['serve', '--port', '0', '--json', '--log-level', 'warn']);
    const banner = JSON.parse(await serve.waitForLine((l) => l.includes('"listening"'), 10_000, 'serve banner')) as { ws: string };
    dir = await mkdtemp(join(tmpdir(), 'sigctl-recv-'));
    const file = join(dir, 'payload.bin');
    const data = randomBytes(200_000);
    await writeFile(file, data);
    const sha = createHash('sha256').update(data).digest('hex');

    for (const round of [1, 2]) {
      const inDir = join(dir, `in-${round}`);
      await mkdir(inDir);
      const room = `recv-${round}`;
      const receiver = startCli(['peer', '--room', room, '--url', banner.ws, '--name', 'rx', '--recv', inDir, '--count', '1', '--json', '--timeout', '30']);
      await receiver.waitForLine((l) => l.includes('"type":"joined"'), 10_000, 'receiver joined');
      const sender = await runCli(['peer', '--room', room, '--url', banner.ws, '--name', 'tx', '--send', file, '--json', '--timeout', '15'], { timeoutMs: 25_000 });
      const rx = await receiver.exit(20_000);
      const diag = `round ${round}\nsender: ${sender.stdout}${sender.stderr}\nreceiver: ${receiver.lines.join('\n')}${receiver.stderr}`;
      expect(sender.code, diag).toBe(0);
      expect(jsonLines(sender.stdout.split('\n')).at(-1), diag).toMatchObject({ type: 'summary', reason: 'sent', filesSent: 1 });
      expect(rx.code, diag).toBe(0);
      expect(jsonLines(receiver.lines).at(-1), diag).toMatchObject({ type: 'summary', reason: 'count', filesReceived: 1 });
      expect(createHash('sha256').update(await readFile(join(inDir, 'payload.bin'))).digest('hex')).toBe(sha);
    }
  }, 90_000);
});
