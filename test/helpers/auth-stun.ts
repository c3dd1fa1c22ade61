/** Hand-built STUN packets and a bounded UDP round trip, for the STUN responder tests. */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

export const COOKIE = Buffer.from([0x21, 0x12, 0xa4, 0x42]);

/** A STUN message with the given type and raw attributes (type, value) and a fresh transaction id. */
export function stunPacket(type: number, attrs: Array<[number, Buffer]> = [], transactionId = randomBytes(12)): Buffer {
  const body = Buffer.concat(
    attrs.map(([t, v]) => {
      const a = Buffer.alloc(4 + Math.ceil(v.length / 4) * 4);
      a.writeUInt16BE(t, 0);
      a.writeUInt16BE(v.length, 2);
      v.copy(a, 4);
      return a;
    }),
  );
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length, 2);
  COOKIE.copy(header, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, body]);
}

export interface DecodedStun {
  type: number;
  transactionId: Buffer;
  attrs: Map<number, Buffer>;
}

/** Decodes a response (test-side, trusting lengths only after checking them). */
export function decodeStun(msg: Buffer): DecodedStun {
  if (msg.length < 20 || !msg.subarray(4, 8).equals(COOKIE) || msg.readUInt16BE(2) + 20 !== msg.length) throw new Error('not a STUN message');
  const attrs = new Map<number, Buffer>();
  let off = 20;
  while (off + 4 <= msg.length) {
    const t = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    attrs.set(t, msg.subarray(off + 4, off + 4 + len));
    off += 4 + Math.ceil(len / 4) * 4;
  }
  return { type: msg.readUInt16BE(0), transactionId: msg.subarray(8, 20), attrs };
}

/** Decodes an (XOR-)MAPPED-ADDRESS value to "address" and port (IPv6 in full, lower-case groups). */
export function decodeAddress(value: Buffer, transactionId: Buffer, xor: boolean): { family: number; address: string; port: number } {
  const family = value.readUInt8(1);
  const port = xor ? value.readUInt16BE(2) ^ 0x2112 : value.readUInt16BE(2);
  const raw = Buffer.from(value.subarray(4));
  if (xor) {
    const mask = Buffer.concat([COOKIE, transactionId]);
    for (let i = 0; i < raw.length; i++) raw[i] = raw[i]! ^ mask[i]!;
  }
  const address =
    family === 1
      ? [...raw].join('.')
      : Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':');
  return { family, address, port };
}

/** A UDP client socket bound on `host`; send() resolves with the next datagram or undefined after `timeoutMs`. */
export async function udpClient(host: string): Promise<{ socket: Socket; port: number; send(msg: Buffer, port: number, timeoutMs?: number): Promise<Buffer | undefined>; close(): void }> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  let closed = false;
  return {
    socket,
    port: socket.address().port,
    send(msg, port, timeoutMs = 1000) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          socket.off('message', onMessage);
          resolve(undefined);
        }, timeoutMs);
        const onMessage = (m: Buffer): void => {
          clearTimeout(timer);
          resolve(m);
        };
        socket.once('message', onMessage);
        socket.send(msg, port, host);
      });
    },
    close() {
      if (!closed) {
        closed = true;
        socket.close();
      }
    },
  };
}
