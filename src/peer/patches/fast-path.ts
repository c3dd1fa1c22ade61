/**
 * Patch "fast-path": DTLS application data records built and opened in one step.
 *
 * Replaces, per connection (werift 0.24.4):
 * - the send chain `BridgeDtls.send` -> `RTCDtlsTransport.sendData` -> `DtlsSocket.send` ->
 *   `createPlaintext()` -> `CipherContext.encryptPacket()` -> `AEADCipher.encrypt()` ->
 *   `DtlsPlaintext.serialize()` -> `TransportContext.send` -> `IceTransport.send` ->
 *   `Connection.send` (webrtc/src/transport/sctp.ts, dtls.ts; dtls/src/socket.ts,
 *   record/builder.ts, context/cipher.ts, cipher/suites/aead.ts; ice/src/ice.ts): eight async
 *   layers, two record objects, three Buffer.concat copies per packet. Installed by wrapping
 *   `RTCSctpTransport.prototype.setDtlsTransport` and replacing the bridge's `send`.
 * - the receive chain `IceTransport.onData` -> `DtlsSocket.udpOnMessage` -> `parsePacket()` ->
 *   `parsePlainText()` -> `CipherContext.decryptPacket()` -> `Event.execute` ->
 *   `RTCDtlsTransport.dataReceiver` for single application-data records. Installed by wrapping
 *   `RTCDtlsTransport.prototype.setState` and replacing `IceTransport.onData` once DTLS is up.
 *
 * After the patch an SCTP packet becomes one DTLS 1.2 AES-GCM record (RFC 5288: 8-byte explicit
 * nonce = epoch|sequence, AAD = epoch|sequence|type|version|length) written into one buffer and
 * handed to the selected ICE pair's protocol; an arriving single application-data record is
 * decrypted and passed to the SCTP association directly. Anything else (handshake, alerts, other
 * cipher suites, several records in one datagram, werift's packet-loss debug options) takes
 * werift's original path, so behaviour is unchanged apart from the copies saved.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherGCMTypes } from 'node:crypto';
import { RTCDtlsTransport, RTCSctpTransport } from 'werift';
import type { WeriftPatch } from './types.js';

const APPLICATION_DATA = 23;
const SESSION_CLIENT = 1;
const HEADER = 13;
const EXPLICIT_NONCE = 8;
const TAG = 16;

interface AeadLike {
  blockAlgorithm?: string;
  nonceImplicitLength: number;
  nonceExplicitLength: number;
  authTagLength: number;
  clientWriteKey?: Buffer;
  serverWriteKey?: Buffer;
  clientNonce?: Buffer;
  serverNonce?: Buffer;
}
interface IcePairLike {
  protocol: { sendData(data: Buffer, addr: unknown): Promise<void> };
  remoteAddr: unknown;
  packetsSent: number;
  bytesSent: number;
}
interface IceConnectionLike {
  nominated?: IcePairLike;
  canSendApplicationData(): boolean;
}
interface DtlsSocketLike {
  dtls: { epoch: number; recordSequenceNumber: number; version: { major: number; minor: number } };
  cipher: { sessionType: number; cipher?: AeadLike };
  transport: { socket: { ice?: IceConnectionLike; onData: (buf: Buffer) => void } };
  onData: { execute(buf: Buffer): void; event: { stack: unknown[]; promiseStack: unknown[] } };
  udpOnMessage: (buf: Buffer) => void;
}
interface DtlsTransportLike {
  dtls?: DtlsSocketLike;
  state: string;
  config: { debug?: { inboundPacketLoss?: number; outboundPacketLoss?: number } };
  sendData: (data: Buffer) => Promise<void>;
  dataReceiver: (data: Buffer) => void;
}

function gcm(aead: AeadLike | undefined): aead is AeadLike & { blockAlgorithm: CipherGCMTypes } {
  return (
    !!aead &&
    typeof aead.blockAlgorithm === 'string' &&
    /^aes-(128|256)-gcm$/.test(aead.blockAlgorithm) &&
    aead.nonceExplicitLength === EXPLICIT_NONCE &&
    aead.authTagLength === TAG
  );
}

/** Encrypts `data` as one application-data record, or returns undefined to use werift's path. */
export function sealRecord(socket: DtlsSocketLike, data: Buffer): Buffer | undefined {
  const aead = socket.cipher.cipher;
  if (!gcm(aead)) return undefined;
  const client = socket.cipher.sessionType === SESSION_CLIENT;
  const iv = client ? aead.clientNonce : aead.serverNonce;
  const key = client ? aead.clientWriteKey : aead.serverWriteKey;
  if (!iv || !key) return undefined;
  const ctx = socket.dtls;
  const seq = ++ctx.recordSequenceNumber;
  const record = Buffer.allocUnsafe(HEADER + EXPLICIT_NONCE + data.length + TAG);
  record[0] = APPLICATION_DATA;
  record[1] = ctx.version.major;
  record[2] = ctx.version.minor;
  record.writeUInt16BE(ctx.epoch, 3);
  record.writeUIntBE(seq, 5, 6);
  record.writeUInt16BE(EXPLICIT_NONCE + data.length + TAG, 11);
  // RFC 5288: nonce = implicit salt (4) | explicit (8); werift uses epoch|sequence as the explicit part.
  const implicit = aead.nonceImplicitLength;
  iv.writeUInt16BE(ctx.epoch, implicit);
  iv.writeUIntBE(seq, implicit + 2, 6);
  iv.copy(record, HEADER, implicit, implicit + EXPLICIT_NONCE);
  // AAD = epoch|seq (8) | type | version | plaintext length: the record header with length patched.
  const aad = Buffer.allocUnsafe(13);
  record.copy(aad, 0, 3, 11);
  aad[8] = APPLICATION_DATA;
  aad[9] = ctx.version.major;
  aad[10] = ctx.version.minor;
  aad.writeUInt16BE(data.length, 11);
  const cipher = createCipheriv(aead.blockAlgorithm, key, iv, { authTagLength: TAG });
  cipher.setAAD(aad, { plaintextLength: data.length });
  const body = cipher.update(data);
  body.copy(record, HEADER + EXPLICIT_NONCE);
  const tail = cipher.final();
  if (tail.length > 0) tail.copy(record, HEADER + EXPLICIT_NONCE + body.length);
  cipher.getAuthTag().copy(record, HEADER + EXPLICIT_NONCE + data.length);
  return record;
}

/** Decrypts a datagram that is exactly one application-data record; undefined = not handled here. */
export function openRecord(socket: DtlsSocketLike, buf: Buffer): Buffer | null | undefined {
  if (buf.length < HEADER + EXPLICIT_NONCE + TAG || buf[0] !== APPLICATION_DATA) return undefined;
  if (HEADER + buf.readUInt16BE(11) !== buf.length) return undefined;
  const aead = socket.cipher.cipher;
  if (!gcm(aead)) return undefined;
  const client = socket.cipher.sessionType === SESSION_CLIENT;
  const iv = client ? aead.serverNonce : aead.clientNonce;
  const key = client ? aead.serverWriteKey : aead.clientWriteKey;
  if (!iv || !key) return undefined;
  const length = buf.length - HEADER - EXPLICIT_NONCE - TAG;
  buf.copy(iv, aead.nonceImplicitLength, HEADER, HEADER + EXPLICIT_NONCE);
  const aad = Buffer.allocUnsafe(13);
  buf.copy(aad, 0, 3, 11);
  aad[8] = APPLICATION_DATA;
  aad[9] = buf[1] as number;
  aad[10] = buf[2] as number;
  aad.writeUInt16BE(length, 11);
  const decipher = createDecipheriv(aead.blockAlgorithm, key, iv, { authTagLength: TAG });
  decipher.setAuthTag(buf.subarray(buf.length - TAG));
  decipher.setAAD(aad, { plaintextLength: length });
  const head = decipher.update(buf.subarray(HEADER + EXPLICIT_NONCE, buf.length - TAG));
  try {
    const tail = decipher.final();
    return tail.length > 0 ? Buffer.concat([head, tail]) : head;
  } catch {
    return null; // authentication failed: drop, as werift does (it logs and drops)
  }
}

function fastSend(transport: DtlsTransportLike, data: Buffer): Promise<void> {
  const socket = transport.dtls;
  if (!socket || transport.config.debug?.outboundPacketLoss) return transport.sendData(data);
  const ice = socket.transport.socket.ice;
  if (!ice) return transport.sendData(data);
  if (!ice.canSendApplicationData()) return Promise.resolve(); // werift's Connection.send does the same
  const pair = ice.nominated;
  if (!pair) return Promise.resolve();
  const record = sealRecord(socket, data);
  if (!record) return transport.sendData(data);
  pair.packetsSent++;
  pair.bytesSent += record.length;
  return pair.protocol.sendData(record, pair.remoteAddr);
}

function installFastReceive(transport: DtlsTransportLike): void {
  const socket = transport.dtls;
  if (!socket || transport.config.debug?.inboundPacketLoss) return;
  const ice = socket.transport.socket;
  const slow = socket.udpOnMessage;
  ice.onData = (buf: Buffer): void => {
    const plain = openRecord(socket, buf);
    if (plain === undefined) {
      slow(buf);
      return;
    }
    if (plain === null) return;
    const { stack, promiseStack } = socket.onData.event;
    // With only RTCDtlsTransport's own subscriber, call its target directly (skip the Event hop).
    if (stack.length === 1 && promiseStack.length === 0) transport.dataReceiver(plain);
    else socket.onData.execute(plain);
  };
}

/** See the module comment. */
export const fastPathPatch: WeriftPatch = {
  name: 'fast-path',
  summary: 'DTLS application-data records are sealed/opened in one buffer and passed straight between SCTP and the ICE pair',
  apply() {
    type SctpTransportThis = { sctp?: { transport: { send: (d: Buffer) => Promise<void> } } };
    const sctpProto = RTCSctpTransport.prototype as unknown as { setDtlsTransport: (this: SctpTransportThis, dtls: DtlsTransportLike) => void };
    const setDtlsTransport = sctpProto.setDtlsTransport;
    sctpProto.setDtlsTransport = function (this: SctpTransportThis, dtls: DtlsTransportLike): void {
      setDtlsTransport.call(this, dtls);
      const bridge = this.sctp?.transport;
      if (bridge) bridge.send = (data: Buffer) => fastSend(dtls, data);
    };
    // Hooked on setState('connected') rather than start(), so it composes with dtls-first-flight
    // (which replaces start) in either order.
    const dtlsProto = RTCDtlsTransport.prototype as unknown as { setState: (this: DtlsTransportLike, state: string, emit?: boolean) => void };
    const setState = dtlsProto.setState;
    dtlsProto.setState = function (this: DtlsTransportLike, state: string, emit?: boolean): void {
      if (state === 'connected' && this.state !== 'connected') installFastReceive(this);
      setState.call(this, state, emit);
    };
  },
};
