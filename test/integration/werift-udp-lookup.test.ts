/**
 * Patch "udp-lookup": werift's UDP transport hands a datagram for an IP address to the kernel in
 * the send() call itself. Shown on real sockets: a datagram sent and followed at once by close()
 * still arrives (with Node's default lookup the send would wait for the next tick and be dropped
 * by the close). Names still resolve through dns.lookup. Every wait is bounded.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UdpTransport } from 'werift';
import { applyWeriftPatches } from '../../src/peer/patches/index.js';
import { literalLookup } from '../../src/peer/patches/udp-lookup.js';
import { within } from '../helpers/within.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await within(Promise.resolve(c()), 5_000, 'cleanup').catch(() => undefined);
});

beforeAll(() => {
  expect(applyWeriftPatches().skipped).toEqual([]);
});

async function receiver(): Promise<{ socket: Socket; port: number; next: Promise<Buffer> }> {
  const socket = createSocket('udp4');
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  const next = new Promise<Buffer>((resolve) => socket.once('message', (msg) => resolve(msg)));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, next };
}

describe('udp-lookup', () => {
  it('answers an IP literal synchronously once ready, and a name (or anything before ready) through dns.lookup', async () => {
    let ready = false;
    const lookup = literalLookup(() => ready);
    let early: string | undefined;
    const later = new Promise<string>((resolve) =>
      lookup('127.0.0.1', 4, (_err, address) => {
        early = address;
        resolve(address);
      }),
    );
    expect(early).toBeUndefined();
    expect(await within(later, 5_000, 'the deferred answer')).toBe('127.0.0.1');
    ready = true;
    let answered: string | undefined;
    lookup('127.0.0.1', 4, (err, address) => {
      expect(err).toBeNull();
      answered = address;
    });
    expect(answered).toBe('127.0.0.1');
    const resolved = await within(
      new Promise<string>((resolve, reject) => lookup('localhost', 4, (err, address) => (err ? reject(err) : resolve(address)))),
      5_000,
      'localhost resolved',
    );
    expect(resolved).toMatch(/^127\./);
  });

  it("werift's UDP transport sends to an IP address within send(): a close() right after it does not lose the datagram", async () => {
    const rx = await receiver();
    const transport = await UdpTransport.init('udp4');
    const payload = Buffer.from('sent before close');
    void transport.send(payload, ['127.0.0.1', rx.port]);
    transport.socket.close();
    expect((await within(rx.next, 5_000, 'the datagram')).toString()).toBe('sent before close');
  });

  it('keeps receiving on the swapped socket (the constructor’s message listener moved with it)', async () => {
    const transport = await UdpTransport.init('udp4');
    cleanups.push(() => transport.close());
    const got = new Promise<Buffer>((resolve) => {
      transport.onData = (data: Buffer) => resolve(data);
    });
    const tx = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => tx.close(() => r())));
    tx.send(Buffer.from('hello'), transport.port, '127.0.0.1');
    expect((await within(got, 5_000, 'a datagram through onData')).toString()).toBe('hello');
  });
});
