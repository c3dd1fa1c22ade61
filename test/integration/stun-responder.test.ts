import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { StunResponder } from '../../src/stun/responder.js';
import { decodeAddress, decodeStun, stunPacket, udpClient } from '../helpers/auth-stun.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function responder(host = '127.0.0.1', software?: string): Promise<{ stun: StunResponder; port: number }> {
  const stun = new StunResponder({ software });
  cleanups.push(() => stun.close());
  const { port } = await stun.start(0, host);
  return { stun, port };
}

async function client(host = '127.0.0.1'): ReturnType<typeof udpClient> {
  const c = await udpClient(host);
  cleanups.push(() => c.close());
  return c;
}

describe('StunResponder (hand-built packets)', () => {
  it('answers an IPv4 Binding request with XOR-MAPPED-ADDRESS and MAPPED-ADDRESS', async () => {
    const { port } = await responder('127.0.0.1', 'sigctl-test');
    const c = await client();
    const tx = randomBytes(12);
    const reply = await c.send(stunPacket(0x0001, [], tx), port);
    expect(reply).toBeDefined();
    const res = decodeStun(reply!);
    expect(res.type).toBe(0x0101);
    expect(res.transactionId.equals(tx)).toBe(true);
    expect(decodeAddress(res.attrs.get(0x0020)!, tx, true)).toEqual({ family: 1, address: '127.0.0.1', port: c.port });
    expect(decodeAddress(res.attrs.get(0x0001)!, tx, false)).toEqual({ family: 1, address: '127.0.0.1', port: c.port });
    expect(res.attrs.get(0x8022)!.toString()).toBe('sigctl-test');
  });

  it('answers over IPv6 with a 128-bit XOR-MAPPED-ADDRESS', async () => {
    const { port } = await responder('::1');
    const c = await client('::1');
    const tx = randomBytes(12);
    const res = decodeStun((await c.send(stunPacket(0x0001, [], tx), port))!);
    expect(res.type).toBe(0x0101);
    expect(decodeAddress(res.attrs.get(0x0020)!, tx, true)).toEqual({ family: 2, address: '0:0:0:0:0:0:0:1', port: c.port });
  });

  it('answers IPv4 clients of a dual-stack socket with their IPv4 address', async () => {
    const { port } = await responder('::');
    const c = await client('127.0.0.1');
    const tx = randomBytes(12);
    const res = decodeStun((await c.send(stunPacket(0x0001, [], tx), port))!);
    expect(decodeAddress(res.attrs.get(0x0020)!, tx, true)).toEqual({ family: 1, address: '127.0.0.1', port: c.port });
  });

  it('accepts the attributes ICE clients send (PRIORITY, USERNAME, FINGERPRINT, SOFTWARE)', async () => {
    const { port } = await responder();
    const c = await client();
    const attrs: Array<[number, Buffer]> = [
      [0x0006, Buffer.from('a:b')],
      [0x0024, Buffer.from([0, 0, 0, 1])],
      [0x8022, Buffer.from('client')],
      [0x8028, Buffer.from([1, 2, 3, 4])],
    ];
    const res = decodeStun((await c.send(stunPacket(0x0001, attrs), port))!);
    expect(res.type).toBe(0x0101);
  });

  it('answers 420 with UNKNOWN-ATTRIBUTES for an unknown comprehension-required attribute', async () => {
    const { port } = await responder();
    const c = await client();
    const res = decodeStun((await c.send(stunPacket(0x0001, [[0x7777, Buffer.from([1])]]), port))!);
    expect(res.type).toBe(0x0111);
    const err = res.attrs.get(0x0009)!;
    expect(err[2]! * 100 + err[3]!).toBe(420);
    expect(res.attrs.get(0x000a)!.readUInt16BE(0)).toBe(0x7777);
  });

  it('ignores garbage, responses, indications and classic (cookie-less) packets, and keeps answering', async () => {
    const { port } = await responder();
    const c = await client();
    const classic = stunPacket(0x0001);
    classic.writeUInt32BE(0xdeadbeef, 4);
    const truncatedAttr = stunPacket(0x0001, [[0x8022, Buffer.from('abcd')]]);
    truncatedAttr.writeUInt16BE(200, 22);
    const badLength = stunPacket(0x0001);
    badLength.writeUInt16BE(4, 2);
    const ignored = [
      Buffer.alloc(0),
      Buffer.from('hello'),
      randomBytes(19),
      stunPacket(0x0101),
      stunPacket(0x0011),
      stunPacket(0x0003),
      classic,
      truncatedAttr,
      badLength,
      Buffer.concat([stunPacket(0x0001), Buffer.alloc(3)]),
      Buffer.alloc(2000),
    ];
    for (let i = 0; i < 200; i++) ignored.push(randomBytes(1 + (i % 80)));
    for (const pkt of ignored.slice(0, 11)) expect(await c.send(pkt, port, 150)).toBeUndefined();
    // Random junk in bulk: whatever it is, the responder must still answer afterwards.
    for (const pkt of ignored.slice(11)) c.socket.send(pkt, port, '127.0.0.1');
    const tx = randomBytes(12);
    let reply: Buffer | undefined;
    for (let i = 0; i < 20 && reply === undefined; i++) {
      const r = await c.send(stunPacket(0x0001, [], tx), port, 500);
      if (r !== undefined && r.length >= 20 && r.subarray(8, 20).equals(tx)) reply = r;
    }
    expect(decodeStun(reply!).type).toBe(0x0101);
  });

  it('close() is idempotent, frees the port, and start() after close refuses', async () => {
    const { stun, port } = await responder();
    await Promise.all([stun.close(), stun.close()]);
    await stun.close();
    expect(stun.address()).toBeUndefined();
    const again = new StunResponder();
    cleanups.push(() => again.close());
    expect((await again.start(port, '127.0.0.1')).port).toBe(port);
    await expect(stun.start(0, '127.0.0.1')).rejects.toThrow(/already started/);
  });

  it('start() rejects when the port is taken', async () => {
    const { port } = await responder();
    const other = new StunResponder();
    cleanups.push(() => other.close());
    await expect(other.start(port, '127.0.0.1')).rejects.toThrow(/EADDRINUSE/);
  });
});
