/**
 * `sigctl serve` as a real process against the frame that used to kill it: a joined client alone
 * in its room sends a signal whose `data` is nested 5,000 deep (~10 KB). The process must answer
 * BAD_MESSAGE and keep serving everyone else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../helpers/server-daemon.js';
import { TestClient, within } from '../helpers/server-harness.js';

describe('sigctl serve survives hostile frames (e2e)', () => {
  const daemons: Daemon[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL').catch(() => undefined)));
  });

  it('answers a 5,000-deep signal with BAD_MESSAGE; the process and a bystander pair keep going', async () => {
    const d = startDaemon(['serve', '--port', '0', '--json']);
    daemons.push(d);
    const { ws } = JSON.parse(await d.firstLine) as { ws: string };
    const join = async (room: string) => {
      const c = await TestClient.connect(ws);
      clients.push(c);
      c.send({ type: 'join', room });
      return { c, joined: await c.next('joined') };
    };
    const a = await join('pair');
    const b = await join('pair');
    const x = await join('alone');

    x.c.sendRaw(`{"type":"signal","data":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(await x.c.error(5000)).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringContaining('64') as string });
    x.c.send({ type: 'ping', id: 'after' });
    await x.c.next('pong', 3000);

    a.c.send({ type: 'signal', to: b.joined.self.id, data: { n: 1 } });
    expect((await b.c.next('signal')).data).toEqual({ n: 1 });
    expect(d.child.exitCode).toBeNull();
    expect((await within(fetch(ws.replace(/^ws/, 'http').replace(/\/ws$/, '/healthz')), 3000, 'healthz')).status).toBe(200);
  });
});
