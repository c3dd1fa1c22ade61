/**
 * A TURN credential check: one Allocate over UDP with long-term credentials (RFC 8656 / RFC 5389
 * section 10.2), then the allocation is released at once. WebRTC stacks only report "no relay
 * candidate" (after werift's gathering stalls); this names the cause in bounded time: TURN_AUTH_FAILED for
 * a refused username/credential (wrong secret, expired REST credentials), TIMEOUT for silence.
 * The credential is never logged or put in a message.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SigctlError } from '../protocol/errors.js';
import { STUN_HEADER_BYTES, STUN_MAGIC_COOKIE, stunAttribute, stunMessage } from './message.js';

const ALLOCATE = 0x0003;
const REFRESH = 0x0004;
const SUCCESS = 0x0100;

const A = {
  USERNAME: 0x0006,
  ERROR_CODE: 0x0009,
  LIFETIME: 0x000d,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
} as const;

export interface TurnProbeOptions {
  /** `turn:host[:port][?transport=udp]` (TCP and TLS are not probed). */
  url: string;
  username: string;
  credential: string;
  /** Whole-probe bound (default 5000 ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface TurnProbeResult {
  realm: string;
  /** The relayed transport address the server allocated (then released). */
  relayed: { address: string; port: number };
}

interface Reply {
  type: number;
  attrs: Map<number, Buffer>;
}

function decode(msg: Buffer, tx: Buffer): Reply | undefined {
  if (msg.length < STUN_HEADER_BYTES || msg.readUInt32BE(4) !== STUN_MAGIC_COOKIE || !msg.subarray(8, STUN_HEADER_BYTES).equals(tx)) return undefined;
  if (msg.readUInt16BE(2) + STUN_HEADER_BYTES !== msg.length) return undefined;
  const attrs = new Map<number, Buffer>();
  for (let off = STUN_HEADER_BYTES; off + 4 <= msg.length; ) {
    const t = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    if (off + 4 + len > msg.length) return undefined;
    if (!attrs.has(t)) attrs.set(t, msg.subarray(off + 4, off + 4 + len));
    off += 4 + Math.ceil(len / 4) * 4;
  }
  return { type: msg.readUInt16BE(0), attrs };
}

function errorCode(reply: Reply): { code: number; reason: string } {
  const v = reply.attrs.get(A.ERROR_CODE);
  if (v === undefined || v.length < 4) return { code: 0, reason: '' };
  return { code: (v[2]! & 0x07) * 100 + v[3]!, reason: v.subarray(4).toString('utf8') };
}

function xorAddress(v: Buffer, tx: Buffer): { address: string; port: number } {
  const port = v.readUInt16BE(2) ^ (STUN_MAGIC_COOKIE >>> 16);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), tx]);
  const raw = Buffer.from(v.subarray(4));
  for (let i = 0; i < raw.length; i++) raw[i] = raw[i]! ^ mask[i]!;
  const address = v[1] === 1 ? [...raw].join('.') : Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':');
  return { address, port };
}

function parseTurnUrl(url: string): { host: string; port: number } {
  const m = /^turn:(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url);
  if (m === null) throw new SigctlError('USAGE', `cannot probe ${url}: only turn:host[:port][?transport=udp] is supported`);
  if (m[3]?.toLowerCase() === 'tcp') throw new SigctlError('USAGE', `cannot probe ${url}: only UDP TURN is probed`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] === undefined ? 3478 : Number(m[2]) };
}

/** Explains a refused username, noticing expired REST credentials (`<expiry>:<user>`). */
function refusal(url: string, username: string, realm: string, code: number, reason: string): SigctlError {
  const expiry = /^(\d{9,})(?::|$)/.exec(username)?.[1];
  const expired = expiry !== undefined && Number(expiry) * 1000 < Date.now();
  const why = expired
    ? `the REST credentials expired at ${new Date(Number(expiry) * 1000).toISOString()}`
    : 'wrong credential: for REST credentials the TURN secret (ice.turn[].secret) differs from coturn static-auth-secret';
  return new SigctlError('TURN_AUTH_FAILED', `TURN authentication failed at ${url}: ${code} ${reason || 'Unauthorized'} for username "${username}" in realm "${realm}" (${why})`, {
    details: { url, username, realm, status: code },
  });
}

/**
 * Checks that a TURN server accepts `username`/`credential` by allocating a relay and releasing it.
 * Rejects with TURN_AUTH_FAILED, TIMEOUT, NO_RELAY_CANDIDATES (other TURN errors) or ABORTED.
 */
export async function probeTurn(options: TurnProbeOptions): Promise<TurnProbeResult> {
  const { host, port } = parseTurnUrl(options.url);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = Date.now() + timeoutMs;
  const address = isIP(host) !== 0 ? host : (await lookup(host)).address;
  const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  socket.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => socket.bind(0, resolve));
    const transport = stunAttribute(A.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const first = await transact(socket, address, port, deadline, options, (tx) => stunMessage(ALLOCATE, tx, [transport]));
    if (first.reply.type === (ALLOCATE | SUCCESS)) throw new SigctlError('TURN_AUTH_FAILED', `${options.url} allocated without authentication; it is not configured for credentials`);
    let realm = first.reply.attrs.get(A.REALM)?.toString('utf8') ?? '';
    let nonce = first.reply.attrs.get(A.NONCE);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (nonce === undefined) {
        const { code, reason } = errorCode(first.reply);
        throw new SigctlError('NO_RELAY_CANDIDATES', `TURN server ${options.url} answered ${code} ${reason} without a nonce`);
      }
      // Long-term credential key: MD5(username ":" realm ":" password), RFC 5389 section 15.4.
      const key = createHash('md5').update(`${options.username}:${realm}:${options.credential}`).digest();
      const authAttrs = [stunAttribute(A.USERNAME, Buffer.from(options.username)), stunAttribute(A.REALM, Buffer.from(realm)), stunAttribute(A.NONCE, nonce)];
      const { reply, tx } = await transact(socket, address, port, deadline, options, (t) => stunMessage(ALLOCATE, t, [transport, ...authAttrs], key));
      if (reply.type === (ALLOCATE | SUCCESS)) {
        const relayed = reply.attrs.get(A.XOR_RELAYED_ADDRESS);
        // Release the allocation: Refresh with LIFETIME 0 (RFC 8656 section 7), best effort.
        const lifetime = stunAttribute(A.LIFETIME, Buffer.alloc(4));
        await transact(socket, address, port, Math.min(deadline, Date.now() + 1_000), options, (t) => stunMessage(REFRESH, t, [lifetime, ...authAttrs], key)).catch(() => undefined);
        return { realm, relayed: relayed === undefined ? { address: '', port: 0 } : xorAddress(relayed, tx) };
      }
      const { code, reason } = errorCode(reply);
      if (code === 438 && attempt === 0) {
        // Stale nonce: retry once with the new one.
        nonce = reply.attrs.get(A.NONCE);
        realm = reply.attrs.get(A.REALM)?.toString('utf8') ?? realm;
        continue;
      }
      if (code === 401 || code === 431 || code === 441) throw refusal(options.url, options.username, realm, code, reason);
      throw new SigctlError('NO_RELAY_CANDIDATES', `TURN server ${options.url} refused the allocation: ${code} ${reason}`);
    }
    throw new SigctlError('TURN_AUTH_FAILED', `TURN authentication failed at ${options.url}: the nonce kept going stale`);
  } finally {
    socket.close();
  }
}

/** Sends a request with RFC 5389 retransmissions (RTO 500 ms, doubling) until a reply or the deadline. */
async function transact(
  socket: Socket,
  address: string,
  port: number,
  deadline: number,
  options: TurnProbeOptions,
  build: (tx: Buffer) => Buffer,
): Promise<{ reply: Reply; tx: Buffer }> {
  const tx = randomBytes(12);
  const msg = build(tx);
  return new Promise((resolve, reject) => {
    let rto = 500;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onMessage = (data: Buffer): void => {
      const reply = decode(data, tx);
      // Only responses (class bits 0x0100: success 0x0100, error 0x0110) end the transaction.
      if (reply === undefined || (reply.type & 0x0100) === 0) return;
      finish();
      resolve({ reply, tx });
    };
    const onAbort = (): void => {
      finish();
      reject(new SigctlError('ABORTED', 'TURN probe aborted'));
    };
    const send = (): void => {
      const left = deadline - Date.now();
      if (left <= 0) {
        finish();
        reject(new SigctlError('TIMEOUT', `TURN server ${options.url} did not answer within ${options.timeoutMs ?? 5_000} ms`));
        return;
      }
      socket.send(msg, port, address);
      timer = setTimeout(send, Math.min(rto, left));
      rto *= 2;
    };
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('message', onMessage);
    send();
  });
}
