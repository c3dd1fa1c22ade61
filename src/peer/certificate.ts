/**
 * The DTLS certificate of a sigctl peer: an ECDSA P-256 key and a self-signed X.509 v3 certificate
 * made with node:crypto and a few lines of DER, handed to werift through its `dtls.keys` option.
 *
 * Why not werift's own: werift makes it with @peculiar/x509 (through WebCrypto and an ASN.1
 * schema library), CPU spent on the first connection of a process, on the path to the first
 * offer (measured in docs/werift-patches.md, "A fresh `sigctl peer` process", with its command). WebRTC only needs the certificate to carry the public key: the far end checks it
 * against the SDP fingerprint (RFC 8122), never a chain, names or extensions.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/** What werift's `dtls.keys` takes (SignatureHashAlgorithm: ecdsa = 3, sha256 = 4, RFC 5246 7.4.1.4.1). */
export interface DtlsKeys {
  readonly keyPem: string;
  readonly certPem: string;
  readonly signatureHash: { readonly hash: 4; readonly signature: 3 };
}

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const UTF8_STRING = 0x0c;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
/** 1.2.840.10045.4.3.2 ecdsa-with-SHA256 (RFC 5758 3.2: no parameters). */
const ECDSA_WITH_SHA256 = Buffer.from('06082a8648ce3d040302', 'hex');
/** 2.5.4.3 commonName. */
const COMMON_NAME = Buffer.from('0603550403', 'hex');

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050 ? der(UTC_TIME, Buffer.from(digits.slice(2), 'ascii')) : der(GENERALIZED_TIME, Buffer.from(digits, 'ascii'));
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Options for createDtlsKeys() (tests pin the clock). */
export interface DtlsKeysOptions {
  readonly now?: Date;
  readonly commonName?: string;
  /** Validity in days (default 30: the certificate lives as long as the process). */
  readonly days?: number;
}

/** Generates an ECDSA P-256 key and a self-signed X.509 v3 certificate for it (node:crypto only, no ASN.1 library). */
export function createDtlsKeys(options: DtlsKeysOptions = {}): DtlsKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = options.now ?? new Date();
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and without a leading zero byte (RFC 5280 4.1.2.2)
  const name = der(SEQUENCE, der(SET, der(SEQUENCE, COMMON_NAME, der(UTF8_STRING, Buffer.from(options.commonName ?? 'sigctl', 'utf8')))));
  const algorithm = der(SEQUENCE, ECDSA_WITH_SHA256);
  const notBefore = new Date(now.getTime() - 24 * 3600_000); // tolerate a far end whose clock is behind
  const notAfter = new Date(now.getTime() + (options.days ?? 30) * 24 * 3600_000);
  const tbs = der(
    SEQUENCE,
    der(0xa0, der(INTEGER, Buffer.from([2]))), // [0] EXPLICIT version v3
    der(INTEGER, serial),
    algorithm,
    name,
    der(SEQUENCE, time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey); // DER Ecdsa-Sig-Value, as X.509 wants it
  const certificate = der(SEQUENCE, tbs, algorithm, der(BIT_STRING, Buffer.from([0]), signature));
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: pem('CERTIFICATE', certificate),
    signatureHash: { hash: 4, signature: 3 },
  };
}

/** The SHA-256 fingerprint of a PEM certificate as SDP writes it (RFC 8122: upper-case hex, colons). */
export function certificateFingerprint(certPem: string): string {
  const body = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
  const hex = createHash('sha256').update(Buffer.from(body, 'base64')).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}
