/**
 * The `peer` program (PeerRun) with a real server and real werift peers: a 20 MiB file with a
 * matching SHA-256 (--send / --recv), and the --echo round-trip.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPeerRun, type PeerRun, type RunEvent, type RunPeerOptions } from '../../src/peer/index.js';
import type { SignalingServer } from '../../src/server/index.js';
import { startPeerTestServer } from '../helpers/peer-server.js';
import { connectedPeers, SessionPool } from '../helpers/peer-sessions.js';
import { nextEvent, within } from '../helpers/peer-timeout.js';

let server: SignalingServer | undefined;
let dir: string | undefined;
const pool = new SessionPool(() => server!.url);
const controllers: AbortController[] = [];

afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort();
  await pool.closeAll();
  await server?.close();
  server = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function run(options: Omit<RunPeerOptions, 'url'>): { run: PeerRun; events: RunEvent[]; abort: AbortController } {
  const abort = new AbortController();
  controllers.push(abort);
  const r = createPeerRun({ url: server!.url, bindAddress: '127.0.0.1', connectTimeoutMs: 3_000, signal: abort.signal, ...options });
  const events: RunEvent[] = [];
  r.on('event', (e) => events.push(e));
  return { run: r, events, abort };
}

describe('peer program', () => {
  it('transfers a 20 MiB file with backpressure and a matching SHA-256', async () => {
    server = await startPeerTestServer();
    dir = await mkdtemp(join(tmpdir(), 'sigctl-peer-'));
    const src = join(dir, 'payload.bin');
    const outDir = join(dir, 'out');
    await (await import('node:fs/promises')).mkdir(outDir);
    const data = randomBytes(20 * 1024 * 1024);
    await writeFile(src, data);
    const sha = createHash('sha256').update(data).digest('hex');

    const receiver = run({ room: 'xfer', name: 'rx', recvDir: outDir, count: 1, timeoutMs: 60_000 });
    const rxDone = receiver.run.run();
    await within(nextEvent(receiver.run.session, 'joined', 5_000), 6_000, 'receiver joined');
    const sender = run({ room: 'xfer', name: 'tx', sendFile: src, timeoutMs: 60_000 });
    const [txSummary, rxSummary] = await within(Promise.all([sender.run.run(), rxDone]), 70_000, 'transfer');

    expect(txSummary).toMatchObject({ reason: 'sent', filesSent: 1, bytesSent: data.length });
    expect(rxSummary).toMatchObject({ reason: 'count', filesReceived: 1, bytesReceived: data.length });
    const sent = sender.events.find((e) => e.type === 'file');
    expect(sent).toMatchObject({ direction: 'sent', sha256: sha, ok: true });
    const got = receiver.events.find((e) => e.type === 'file');
    expect(got).toMatchObject({ direction: 'received', sha256: sha, ok: true, file: 'payload.bin' });
    expect(createHash('sha256').update(await readFile(join(outDir, 'payload.bin'))).digest('hex')).toBe(sha);
    expect(sender.events.some((e) => e.type === 'bytes' && e.direction === 'sent' && e.bytes === data.length)).toBe(true);
    const connected = sender.events.find((e) => e.type === 'peer-connected');
    expect(connected).toMatchObject({ pair: 'host', name: 'rx' });
  });

  it('--echo sends every message back to its sender and stops after --count', async () => {
    server = await startPeerTestServer();
    const echo = run({ room: 'echo', name: 'echo', echo: true, count: 3 });
    const done = echo.run.run();
    await within(nextEvent(echo.run.session, 'joined', 5_000), 6_000, 'echo joined');
    const client = pool.create('echo', { name: 'client' });
    const connected = connectedPeers(client, 1, 15_000);
    // Subscribed before start: the channel may open before the connection is reported.
    const opened = nextEvent(client, 'channel-open', 15_000);
    await client.start();
    const [peer] = await connected;
    const [{ channel, peer: channelPeer }] = await opened;
    expect(channelPeer).toBe(peer.peer);
    const back: string[] = [];
    const threeBack = new Promise<void>((resolve) => {
      client.on('message', (m) => {
        if (back.push(m.data.toString()) === 3) resolve();
      });
    });
    for (const text of ['one', 'two', 'three']) channel.send(text);
    channel.send(Buffer.from([1, 2, 3]));
    const summary = await within(done, 10_000, 'echo to stop after 3');
    expect(summary).toMatchObject({ reason: 'count', messagesIn: 3, messagesOut: 3 });
    await within(threeBack, 5_000, 'echoes');
    expect(back.slice(0, 3)).toEqual(['one', 'two', 'three']);
    expect(echo.events.filter((e) => e.type === 'message').map((e) => (e.type === 'message' ? e.text : undefined))).toEqual(['one', 'two', 'three']);
  });

  it('ends with TIMEOUT when --send finds no peer within --timeout', async () => {
    server = await startPeerTestServer();
    dir = await mkdtemp(join(tmpdir(), 'sigctl-peer-'));
    const src = join(dir, 'small.bin');
    await writeFile(src, randomBytes(1000));
    const lonely = run({ room: 'nobody', sendFile: src, timeoutMs: 500 });
    const err = await lonely.run.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect(lonely.events.at(-1)).toMatchObject({ type: 'summary', reason: 'error' });
  });
});
