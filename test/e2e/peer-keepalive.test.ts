/**
 * A far end that is killed (SIGKILL: no leave, no SCTP shutdown) is noticed by the data-channel
 * keepalive within seconds, long before werift (~30 s) or the server's resume grace would say so.
 * The keepalive is agreed on the data channel: nothing about it reaches the room's other members.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KEEPALIVE_MESSAGE } from '../../src/peer/keepalive.js';
import type { SignalingServer } from '../../src/server/index.js';
import { startPeerTestServer } from '../helpers/peer-server.js';
import { startCli, stopAll } from '../helpers/peer-cli.js';
import { connectedPeers, SessionPool } from '../helpers/peer-sessions.js';
import { nextEvent } from '../helpers/peer-timeout.js';
import { within } from '../helpers/within.js';
import { TestClient } from '../helpers/server-harness.js';

let server: SignalingServer | undefined;
const pool = new SessionPool(() => server!.url);

afterEach(async () => {
  await stopAll();
  await pool.closeAll();
  await server?.close();
  server = undefined;
});

describe('keepalive', () => {
  it('drops a SIGKILLed peer after deadAfterMs while the server still holds its seat', async () => {
    server = await startPeerTestServer({ rooms: { resumeGraceMs: 60_000 } });
    const far = startCli(['peer', '--room', 'ka', '--echo', '--json', '--name', 'victim', '--url', server.url, '--timeout', '60']);
    expect(await far.waitForLine((l) => l.includes('"type":"joined"'), 10_000, 'far end joined')).not.toContain('sigctlKeepalive');
    const near = pool.create('ka', { name: 'near', keepaliveMs: 500, deadAfterMs: 2_500 });
    const connected = connectedPeers(near, 1, 15_000);
    await near.start();
    const [peer] = await connected;
    // The keepalive was agreed on the channel (both ends ping, see below), not through meta.
    expect(near.peers()[0]?.info.meta).toEqual({});
    // Stays connected past deadAfterMs while both are alive: the far end's keepalives (every 2 s by
    // default) arrive, and none reaches the app as a message. Three of them span at least two of the
    // far end's intervals (4 s by its clock), longer than deadAfterMs: the wait is for them, not a sleep.
    let messages = 0;
    let failures = 0;
    near.on('message', () => (messages += 1));
    near.on('peer-failed', () => (failures += 1));
    const channel = near.channel(peer.peer);
    expect(channel).toBeDefined();
    let keepalives = 0;
    const threeKeepalives = new Promise<void>((resolve) => {
      channel!.raw.onMessage.subscribe((data) => {
        if (String(data) === KEEPALIVE_MESSAGE && ++keepalives === 3) resolve();
      });
    });
    await within(threeKeepalives, 15_000, "three of the far end's keepalives");
    expect(failures).toBe(0);
    expect(near.channel(peer.peer)?.isOpen).toBe(true);
    let left = 0;
    near.on('peer-left', () => (left += 1));
    // Bounded well below werift's own ~30 s: only the keepalive can report it this soon.
    const failed = nextEvent(near, 'peer-failed', 8_000);
    far.child.kill('SIGKILL');
    const [info] = await failed;
    expect(info.error.code).toBe('CONNECTION_LOST');
    expect(info.error.message).toMatch(/went silent/);
    expect(left).toBe(0); // the server is still holding the seat for a resume
    expect(messages).toBe(0);
  });

  it('other members never see keepalive metadata: joined and peer-joined carry only what the app set', async () => {
    server = await startPeerTestServer();
    const app = await TestClient.connect(server.url);
    try {
      app.send({ type: 'join', room: 'quiet', meta: { video: true } });
      await app.next('joined');
      const cli = startCli(['peer', '--room', 'quiet', '--json', '--name', 'cli', '--url', server.url, '--timeout', '30']);
      const joinedLine = await cli.waitForLine((l) => l.includes('"type":"joined"'), 10_000, 'the cli joined');
      expect(joinedLine).not.toContain('sigctlKeepalive');
      const seen = await app.next('peer-joined');
      expect(seen.peer.meta).toEqual({});
      // The offer a sigctl peer sends reaches the app as a plain description.
      const offer = await app.next('signal');
      expect(JSON.stringify(offer)).not.toContain('sigctlKeepalive');
    } finally {
      await app.close();
    }
  });
});
