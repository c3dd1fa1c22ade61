/**
 * The server's one teardown: `close()` twice, `close()` during a drain, `drain()` after `close()`,
 * and a start-up that fails half way all run it exactly once, and it releases what was made. The
 * "once" is read from the log (one `closed` line) and from the promises the calls return.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { startServer } from '../../src/server/index.js';
import { Resources, startTestServer, testConfig, TestClient, within } from '../helpers/server-harness.js';

/** A logger whose lines are kept as objects. */
function capturingLogger(): { logger: Logger; events: () => string[] } {
  const lines: Array<{ event?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { event?: string }) });
  return { logger, events: () => lines.map((l) => l.event ?? '') };
}

const count = (events: string[], event: string): number => events.filter((e) => e === event).length;

/** A TCP port nothing listens on right now (bound on port 0, then released). */
async function freeTcpPort(): Promise<number> {
  const probe = createServer();
  await within(new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve)), 2000, 'a probe to listen');
  const { port } = probe.address() as AddressInfo;
  await within(new Promise<void>((resolve) => probe.close(() => resolve())), 2000, 'the probe to close');
  return port;
}

describe('server teardown', () => {
  const res = new Resources();
  const udp: Socket[] = [];
  afterEach(async () => {
    await res.closeAll();
    await Promise.all(udp.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  it('close twice (and again after it finished) is one teardown: same promise, one closed line, sockets and port released', async () => {
    const log = capturingLogger();
    const s = res.server(await startTestServer({}, { logger: log.logger }));
    const a = res.client(await TestClient.connect(s.url));
    const first = s.close();
    const second = s.close();
    expect(second).toBe(first);
    await within(first, 5000, 'close');
    expect(s.close()).toBe(first);
    await within(s.close(), 1000, 'a close after close');
    expect((await a.waitClosed(3000)).code).toBe(1006);
    await expect(within(fetch(`${s.httpUrl}/healthz`), 2000, 'healthz after close')).rejects.toThrow();
    expect(count(log.events(), 'closed')).toBe(1);
  });

  it('close during a drain ends the drain at once: both resolve on the one teardown', async () => {
    const log = capturingLogger();
    // A drain that would wait a minute for its clients to leave.
    const s = res.server(await startTestServer({ drainMs: 60_000 }, { logger: log.logger }));
    const { c: a } = await TestClient.join(s.url, 'drain-close');
    res.client(a);
    const draining = s.drain();
    expect(s.draining).toBe(true);
    await a.next('bye');
    const closing = s.close();
    await within(closing, 5000, 'close during the drain');
    await within(draining, 5000, 'the drain to end with the close');
    expect(s.draining).toBe(true);
    expect(s.drain()).toBe(draining);
    expect((await a.waitClosed(3000)).code).toBe(1006);
    const events = log.events();
    expect(count(events, 'draining')).toBe(1);
    expect(count(events, 'closed')).toBe(1);
  });

  it('close while a drain with drainMs 0 is closing its clients is still one teardown', async () => {
    const log = capturingLogger();
    const s = res.server(await startTestServer({ drainMs: 0 }, { logger: log.logger }));
    const { c: a } = await TestClient.join(s.url, 'drain-late-close');
    res.client(a);
    const draining = s.drain();
    // With drainMs 0 the drain goes straight on to closing its clients with 1001 and waiting for
    // their close handshakes: close the server meanwhile.
    await a.next('bye');
    const closing = s.close();
    await within(Promise.all([closing, draining]), 5000, 'close and drain');
    expect([CloseCode.GOING_AWAY, 1006]).toContain((await a.waitClosed(3000)).code);
    expect(count(log.events(), 'closed')).toBe(1);
  });

  it('drain twice is one drain; drain after close starts none', async () => {
    const log = capturingLogger();
    const s = res.server(await startTestServer({ drainMs: 60_000 }, { logger: log.logger }));
    const first = s.drain();
    expect(s.drain()).toBe(first);
    // No client: the drain finishes as soon as it starts (nobody to wait for).
    await within(first, 5000, 'the drain');

    const log2 = capturingLogger();
    const t = res.server(await startTestServer({}, { logger: log2.logger }));
    await within(t.close(), 5000, 'close');
    await within(t.drain(), 1000, 'a drain after close');
    expect(t.draining).toBe(false);
    expect(count(log2.events(), 'draining')).toBe(0);
    expect(count(log2.events(), 'closed')).toBe(1);
  });

  it('a start-up that fails half way (STUN port taken) releases the HTTP port it had bound and announces nothing', async () => {
    const taken = createSocket('udp4');
    udp.push(taken);
    await within(new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve)), 2000, 'a UDP socket to bind');
    const stunPort = taken.address().port;
    const port = await freeTcpPort();
    const log = capturingLogger();
    const err = await startServer(testConfig({ port, stunPort }), { logger: log.logger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LISTEN_FAILED' });
    expect(String((err as Error).message)).toMatch(/STUN responder/);
    // The HTTP port is free again: a new server binds it.
    const again = res.server(await startTestServer({ port }));
    expect(again.port).toBe(port);
    expect(log.events()).not.toContain('listening');
    expect(log.events()).not.toContain('closed');
  });
});
