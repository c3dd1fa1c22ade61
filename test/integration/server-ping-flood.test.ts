/**
 * A client flooding WebSocket ping frames is misbehaving like any flooder: it is cut, and its room
 * sees `peer-left` with reason `disconnect` at once (not `timeout` after the resume grace period,
 * as for a dropped connection). A client pinging at a sane rate gets its pongs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { SignalingServer } from '../../src/server/index.js';
import { Resources, startTestServer, within } from '../helpers/server-harness.js';

describe('WebSocket ping frames', () => {
  const res = new Resources();
  afterEach(() => res.closeAll());

  // A grace period far longer than any wait below: a `timeout` cannot arrive in time to pass.
  const setup = async (): Promise<SignalingServer> => res.server(await startTestServer({ rooms: { resumeGraceMs: 120_000 } }));
  const { join } = res;

  it('cuts a ping flooder; its room sees peer-left disconnect at once', async () => {
    const s = await setup();
    const a = await join(s, 'pf');
    const b = await join(s, 'pf');
    let sent = 0;
    const flood = (): void => {
      for (let i = 0; i < 500 && b.c.ws.readyState === b.c.ws.OPEN; i++, sent++) b.c.ws.ping();
      if (b.c.ws.readyState === b.c.ws.OPEN && sent < 100_000) setImmediate(flood);
    };
    flood();
    await b.c.waitClosed(10_000);
    const left = await a.c.next('peer-left', 10_000);
    expect(left).toMatchObject({ peer: b.joined.self.id, reason: 'disconnect' });
    // The server goes on serving the room.
    const c = await join(s, 'pf');
    expect(c.joined.peers.map((p) => p.id)).toEqual([a.joined.self.id]);
  });

  it('closes a text frame of invalid UTF-8 with 1007 (documented in docs/errors.md); the room sees disconnect', async () => {
    const s = await setup();
    const a = await join(s, 'utf');
    const b = await join(s, 'utf');
    b.c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await b.c.waitClosed()).code).toBe(CloseCode.INVALID_PAYLOAD);
    expect(await a.c.next('peer-left', 5000)).toMatchObject({ peer: b.joined.self.id, reason: 'disconnect' });
  });

  it('answers pings at a sane rate with pongs', async () => {
    const s = await setup();
    const a = await join(s, 'sane');
    for (let i = 0; i < 20; i++) {
      const pong = new Promise<Buffer>((resolve) => a.c.ws.once('pong', resolve));
      a.c.ws.ping(Buffer.from(`p${i}`));
      expect((await within(pong, 3000, 'pong')).toString()).toBe(`p${i}`);
    }
  });
});
