/**
 * Two `sigctl serve --redis` processes on one real redis-server, as an operator runs them: a room
 * spanning both nodes relays, and when one node is killed (-9) the survivor tells the room.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redisForSuite } from '../helpers/redis-server.js';
import { requires } from '../helpers/requires.js';
import { bannerOf, Daemons, type Daemon } from '../helpers/server-daemon.js';
import { TestClient } from '../helpers/server-harness.js';

describe('sigctl serve --redis (e2e, two nodes)', requires('redis-server'), () => {
  const redis = redisForSuite();
  const daemons = new Daemons({ env: { SIGCTL_DRAIN_MS: '0' } });

  afterEach(() => daemons.closeAll());

  it('relays across nodes and announces the members of a killed node', async () => {
    const prefix = `e2e${Date.now()}:`;
    const start = async (id: string): Promise<{ d: Daemon; ws: string }> => {
      const d = daemons.run(['serve', '--port', '0', '--json', '--log-level', 'warn', '--redis', redis.url], {
        SIGCTL_REDIS_NODE_ID: id,
        SIGCTL_REDIS_KEY_PREFIX: prefix,
        SIGCTL_REDIS_NODE_HEARTBEAT_MS: '300',
      });
      return { d, ws: (await bannerOf(d)).ws };
    };
    const [a, b] = await Promise.all([start('a'), start('b')]);
    const ca = await TestClient.connect(a.ws);
    const cb = await TestClient.connect(b.ws);
    daemons.client(ca);
    daemons.client(cb);
    ca.send({ type: 'join', room: 'span' });
    const ja = await ca.next('joined');
    cb.send({ type: 'join', room: 'span' });
    const jb = await cb.next('joined');
    expect(jb.peers.map((p) => p.id)).toEqual([ja.self.id]);
    await ca.next('ready', 5000);
    ca.send({ type: 'signal', to: jb.self.id, data: { from: 'node a' } });
    expect(await cb.next('signal', 5000)).toEqual({ type: 'signal', from: ja.self.id, data: { from: 'node a' } });

    a.d.child.kill('SIGKILL');
    // Reaped within 3 heartbeats of 300 ms, plus slack for a loaded machine.
    expect(await cb.next('peer-left', 8000)).toEqual({ type: 'peer-left', room: 'span', peer: ja.self.id, reason: 'disconnect' });
  });

});
