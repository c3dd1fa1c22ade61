/**
 * A built-in STUN Binding responder (RFC 5389), so small deployments can hand out
 * `stun:<host>:<port>` without running another server. It answers Binding requests with the
 * request's source address (XOR-MAPPED-ADDRESS, plus MAPPED-ADDRESS for RFC 3489-era clients)
 * and ignores everything else: it is stateless and never authenticates.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import { STUN_HEADER_BYTES, STUN_MAGIC_COOKIE, stunAttribute, stunMessage } from './message.js';

const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;

const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_UNKNOWN_ATTRIBUTES = 0x000a;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_SOFTWARE = 0x8022;

/**
 * Comprehension-required attributes (0x0000-0x7FFF) a Binding request may carry that this
 * stateless responder can safely accept without acting on them: the RFC 5389 credentials (a
 * server without credentials ignores them) and the RFC 8445 ICE attributes PRIORITY/USE-CANDIDATE.
 */
const TOLERATED = new Set([0x0006, 0x0008, 0x0014, 0x0015, 0x0024, 0x0025]);

/** Section 15.2: the family codes of (XOR-)MAPPED-ADDRESS. */
const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

export interface StunResponderOptions {
  logger?: Pick<Logger, 'debug' | 'warn'> | undefined;
  /** SOFTWARE attribute value (RFC 5389 section 15.10); omitted when undefined. */
  software?: string | undefined;
}

/** A decoded request header, or undefined for anything that is not a well-formed STUN request. */
interface StunRequest {
  type: number;
  transactionId: Buffer;
  unknownRequired: number[];
}

/** Parses a datagram defensively: every length is checked before it is trusted. */
export function parseStunRequest(msg: Buffer): StunRequest | undefined {
  // No legitimate Binding request comes near one MTU; bigger datagrams are not worth parsing.
  if (msg.length < STUN_HEADER_BYTES || msg.length > 1500) return undefined;
  const type = msg.readUInt16BE(0);
  const length = msg.readUInt16BE(2);
  // The two top bits are zero for STUN (section 6); the length counts only attributes, padded to 4.
  if ((type & 0xc000) !== 0 || length % 4 !== 0 || STUN_HEADER_BYTES + length !== msg.length) return undefined;
  if (msg.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return undefined;
  // Class bits C1 C0 (0x0110) are 00 for a request.
  if ((type & 0x0110) !== 0) return undefined;
  const unknownRequired: number[] = [];
  let offset = STUN_HEADER_BYTES;
  while (offset < msg.length) {
    if (offset + 4 > msg.length) return undefined;
    const attrType = msg.readUInt16BE(offset);
    const attrLength = msg.readUInt16BE(offset + 2);
    const next = offset + 4 + Math.ceil(attrLength / 4) * 4;
    if (next > msg.length) return undefined;
    if (attrType < 0x8000 && !TOLERATED.has(attrType) && attrType !== ATTR_MAPPED_ADDRESS && attrType !== ATTR_XOR_MAPPED_ADDRESS) {
      unknownRequired.push(attrType);
    }
    offset = next;
  }
  return { type, transactionId: Buffer.from(msg.subarray(8, STUN_HEADER_BYTES)), unknownRequired };
}

function ipBytes(address: string): { family: number; bytes: Buffer } {
  if (isIPv4(address)) return { family: FAMILY_IPV4, bytes: Buffer.from(address.split('.').map(Number)) };
  const bytes = Buffer.alloc(16);
  // A dotted IPv4 tail (64:ff9b::192.0.2.1) is two 16-bit groups.
  let text = address;
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted[2]!.split('.').map(Number) as [number, number, number, number];
    text = `${dotted[1]!}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail = ''] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = text.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return { family: FAMILY_IPV6, bytes };
}

/** Section 15.1 MAPPED-ADDRESS and 15.2 XOR-MAPPED-ADDRESS values for `address`:`port`. */
export function mappedAddress(address: string, port: number, transactionId: Buffer, xor: boolean): Buffer {
  const { family, bytes } = ipBytes(address);
  const value = Buffer.alloc(4 + bytes.length);
  value.writeUInt8(family, 1);
  value.writeUInt16BE(xor ? port ^ (STUN_MAGIC_COOKIE >>> 16) : port, 2);
  if (xor) {
    // X-Address is the address XORed with the cookie (IPv4) or cookie || transaction id (IPv6).
    const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
    for (let i = 0; i < bytes.length; i++) value[4 + i] = bytes[i]! ^ mask[i]!;
  } else {
    bytes.copy(value, 4);
  }
  return value;
}

/** The reply to a datagram from `from`, or undefined when it must be ignored. */
export function stunReply(msg: Buffer, from: Pick<RemoteInfo, 'address' | 'port'>, software?: string): Buffer | undefined {
  const req = parseStunRequest(msg);
  if (req?.type !== BINDING_REQUEST) return undefined;
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; they must see their IPv4 address.
  const address = from.address.startsWith('::ffff:') && isIPv4(from.address.slice(7)) ? from.address.slice(7) : from.address.replace(/%.*$/, '');
  const trailer = software === undefined ? [] : [stunAttribute(ATTR_SOFTWARE, Buffer.from(software, 'utf8').subarray(0, 763))];
  if (req.unknownRequired.length > 0) {
    // Section 7.3.1: unknown comprehension-required attributes get 420 with UNKNOWN-ATTRIBUTES.
    const code = Buffer.concat([Buffer.from([0, 0, 4, 20]), Buffer.from('Unknown Attribute', 'utf8')]);
    const list = Buffer.alloc(req.unknownRequired.length * 2);
    req.unknownRequired.forEach((t, i) => list.writeUInt16BE(t, i * 2));
    return stunMessage(BINDING_ERROR, req.transactionId, [stunAttribute(ATTR_ERROR_CODE, code), stunAttribute(ATTR_UNKNOWN_ATTRIBUTES, list), ...trailer]);
  }
  return stunMessage(BINDING_SUCCESS, req.transactionId, [
    stunAttribute(ATTR_XOR_MAPPED_ADDRESS, mappedAddress(address, from.port, req.transactionId, true)),
    stunAttribute(ATTR_MAPPED_ADDRESS, mappedAddress(address, from.port, req.transactionId, false)),
    ...trailer,
  ]);
}

/** The built-in STUN server: `start(port, host)` binds UDP, `close()` is idempotent. */
export class StunResponder {
  private socket: Socket | undefined;
  private closing: Promise<void> | undefined;
  private readonly options: StunResponderOptions;
  private answeredCount = 0;

  constructor(options: StunResponderOptions = {}) {
    this.options = options;
  }

  /** Binds `host:port` (port 0 picks a free one) and resolves with the bound address. */
  async start(port: number, host = '0.0.0.0'): Promise<{ address: string; port: number; family: string }> {
    if (this.socket !== undefined || this.closing !== undefined) throw new Error('StunResponder already started');
    // udp6 on "::" also receives IPv4 (dual stack) unless the OS forbids it.
    const socket = createSocket({ type: isIPv4(host) ? 'udp4' : 'udp6' });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.off('close', onClose);
        socket.close();
        reject(err);
      };
      // close() while binding: the bind callback never comes.
      const onClose = (): void => reject(new Error('StunResponder closed before it was bound'));
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.on('error', (err) => this.options.logger?.warn({ err }, 'stun socket error'));
        resolve();
      });
    });
    return socket.address();
  }

  /** The bound address, or undefined before start and after close. */
  address(): { address: string; port: number; family: string } | undefined {
    return this.closing === undefined ? this.socket?.address() : undefined;
  }

  /** Binding requests answered so far (for metrics and tests). */
  get answered(): number {
    return this.answeredCount;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let reply: Buffer | undefined;
    try {
      reply = stunReply(msg, rinfo, this.options.software);
    } catch (err) {
      // A parser bug must never take the server down: log and drop the datagram.
      this.options.logger?.warn({ err, from: rinfo.address }, 'stun: dropped a datagram that could not be handled');
      return;
    }
    if (reply === undefined) {
      this.options.logger?.debug({ from: rinfo.address, bytes: msg.length }, 'stun: ignored a datagram that is not a Binding request');
      return;
    }
    this.answeredCount++;
    this.socket?.send(reply, rinfo.port, rinfo.address, (err) => {
      if (err !== null) this.options.logger?.debug({ err, from: rinfo.address }, 'stun: reply not sent');
    });
  }

  /** Stops answering and releases the port; safe to call any number of times. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const socket = this.socket;
      if (socket === undefined) {
        resolve();
        return;
      }
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closing;
  }
}
