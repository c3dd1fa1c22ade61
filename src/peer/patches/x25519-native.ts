/**
 * Patch "x25519-native": X25519 in DTLS through node:crypto instead of tweetnacl's JavaScript.
 *
 * werift 0.24.4's DTLS makes its ephemeral X25519 key pair with `nacl.box.keyPair()` and derives
 * the pre-master secret with `nacl.scalarMult()` (dtls/src/cipher/namedCurve.ts `generateKeyPair`,
 * dtls/src/cipher/prf.ts `prfPreMasterSecret`), both tweetnacl 1.0.3 in JavaScript. In a fresh
 * process the first key pair is slow (cold field arithmetic); OpenSSL is far cheaper (the CPU
 * profile and the command that took it: docs/werift-patches.md, "x25519-native"). Those two functions are not exported from werift's bundle, so the patch
 * replaces the two tweetnacl functions they call, on the tweetnacl module werift resolves (one
 * CommonJS module object, shared by the bundle's `import nacl from "tweetnacl"`).
 *
 * Same results for every valid input (X25519 is RFC 7748 on both sides; node:crypto clamps the
 * scalar and masks the u-coordinate's top bit as tweetnacl does), same return shapes: 32-byte
 * Uint8Arrays that own their ArrayBuffer (werift reads `keys.secretKey.buffer`). Anything
 * node:crypto refuses (wrong sizes or types, an all-zero shared secret from a low-order point,
 * which OpenSSL rejects and tweetnacl returns) goes to the original function, so nothing that
 * worked before throws now. Upstream, werift would call `generateKeyPairSync('x25519')` and
 * `diffieHellman()` itself.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WeriftPatch } from './types.js';

/** DER prefixes of an X25519 PKCS#8 private key / SPKI public key before the 32 raw bytes (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

type KeyPair = { publicKey: Uint8Array; secretKey: Uint8Array };
interface NaclLike {
  scalarMult: ((n: Uint8Array, p: Uint8Array) => Uint8Array) & { base: unknown };
  box: { keyPair: (() => KeyPair) & { fromSecretKey: unknown } };
}

const own32 = (bytes: Uint8Array): Uint8Array => {
  const out = new Uint8Array(32);
  out.set(bytes);
  return out;
};

/** X25519(n, p) with node:crypto; undefined when node:crypto refuses (the caller falls back). */
export function nativeScalarMult(n: Uint8Array, p: Uint8Array): Uint8Array | undefined {
  if (!(n instanceof Uint8Array) || !(p instanceof Uint8Array) || n.length !== 32 || p.length !== 32) return undefined;
  try {
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, n]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, p]), format: 'der', type: 'spki' });
    return own32(diffieHellman({ privateKey, publicKey }));
  } catch {
    return undefined;
  }
}

/** A fresh X25519 key pair from node:crypto, shaped like tweetnacl's box.keyPair(). */
export function nativeKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    secretKey: own32(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length)),
    publicKey: own32(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)),
  };
}

/** The tweetnacl module werift's bundle imports. */
function weriftNacl(): NaclLike {
  const fromWerift = createRequire(createRequire(import.meta.url).resolve('werift'));
  return fromWerift('tweetnacl') as NaclLike;
}

/** See the module comment. */
export const x25519NativePatch: WeriftPatch = {
  name: 'x25519-native',
  summary: 'DTLS X25519 key pair and shared secret through node:crypto instead of tweetnacl in JavaScript (~9 ms less in a fresh process)',
  apply() {
    const nacl = weriftNacl();
    const scalarMult = nacl.scalarMult;
    const keyPair = nacl.box.keyPair;
    if (typeof scalarMult !== 'function' || typeof keyPair !== 'function') throw new Error('tweetnacl has no scalarMult / box.keyPair');
    nacl.scalarMult = Object.assign((n: Uint8Array, p: Uint8Array): Uint8Array => nativeScalarMult(n, p) ?? scalarMult(n, p), { base: scalarMult.base });
    nacl.box.keyPair = Object.assign((): KeyPair => nativeKeyPair(), { fromSecretKey: keyPair.fromSecretKey });
  },
};
