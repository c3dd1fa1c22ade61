/**
 * Issue 6's operator scenario with the built CLI: `sigctl serve --redis` on two ports sharing one
 * real redis-server, `sigctl peer --echo` on node A and `sigctl peer --send FILE --json` on node B.
 * The offer, answer and candidates cross nodes through Redis; the file arrives with its SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';
import { jsonLines, startCli, stopAll } from '../helpers/peer-cli.js';
import { startRedis, type RedisProcess } from '../helpers/redis-server.js';
import { requires } from '../helpers/requires.js';

let redis: RedisProcess;
let dir: string | undefined;

afterEach(async () => {
  await stopAll();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function node(id: string, prefix: string): Promise<string> {
  const proc = startCli(['serve', '--port', '0', '--json', '--log-level', 'warn', '--redis', redis.url], {
    SIGCTL_REDIS_NODE_ID: id,
    SIGCTL_REDIS_KEY_PREFIX: prefix,
    SIGCTL_DRAIN_MS: '0',
  });
  const line = await proc.waitForLine((l) => l.includes('"listening"'), 10_000, `node ${id} banner`);
  return (JSON.parse(line) as { ws: string }).ws;
}

describe('sigctl peer across two serve --redis nodes (e2e)', requires('redis-server'), () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('an echo peer on node A and a sender on node B complete a data channel and a file transfer', async () => {
    const prefix = `e2e-peer-${Date.now()}:`;
    const [urlA, urlB] = await Promise.all([node('a', prefix), node('b', prefix)]);
    expect(urlA).not.toBe(urlB);
    dir = await mkdtemp(join(tmpdir(), 'sigctl-multinode-'));
    const file = join(dir, 'cross.bin');
    const data = randomBytes(256 * 1024 + 7);
    await writeFile(file, data);
    const sha = createHash('sha256').update(data).digest('hex');

    const echo = startCli(['peer', '--room', 'span', '--echo', '--url', urlA, '--name', 'echo-a', '--json', '--timeout', '60']);
    await echo.waitForLine((l) => l.includes('"type":"joined"'), 10_000, 'echo joined on node A');

    const res = await runCli(['peer', '--room', 'span', '--send', file, '--json', '--url', urlB, '--name', 'sender-b', '--timeout', '30'], { timeoutMs: 40_000 });
    expect(res.code, res.stderr).toBe(0);
    const events = jsonLines(res.stdout.split('\n'));
    expect(events[0]).toMatchObject({ type: 'joined' });
    expect(events.find((e) => e.type === 'peer-connected')).toMatchObject({ name: 'echo-a' });
    expect(events.find((e) => e.type === 'file')).toMatchObject({ direction: 'sent', bytes: data.length, sha256: sha, ok: true });
    expect(events.at(-1)).toMatchObject({ type: 'summary', filesSent: 1, errors: 0 });

    await echo.waitForLine((l) => l.includes('"direction":"received"'), 10_000, 'echo received the file');
    expect(jsonLines(echo.lines).find((e) => e.type === 'file')).toMatchObject({ direction: 'received', sha256: sha, ok: true });
  });
});
