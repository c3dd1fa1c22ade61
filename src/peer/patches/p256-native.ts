/**
 * Patch "p256-native": the DTLS ECDHE key pair and shared secret on P-256 through node:crypto
 * instead of @noble/curves in JavaScript.
 *
 * werift 0.24.4's DTLS makes its ephemeral P-256 key pair with `p256.getPublicKey()` and derives
 * the pre-master secret with `p256.getSharedSecret()` (dtls/src/cipher/ec.ts `p256Keypair`,
 * `p256PreMasterSecret`), @noble/curves 1.x in JavaScript. The first use in a process builds
 * noble's precomputed tables during the handshake, with the event loop blocked long enough to
 * answer a STUN request late (figures and the commands that measured them: docs/werift-patches.md,
 * "p256-native"). libdatachannel and Chromium offer P-256 first, so every handshake with them
 * takes this path; OpenSSL does each step far faster.
 *
 * Those functions are not exported from werift's bundle, so the patch replaces the two methods
 * they call on the `p256` object of the @noble/curves module werift's bundle imports (one ES
 * module instance, the file werift's `import "@noble/curves/p256"` resolves to).
 *
 * Same results for every input noble accepts: `getPublicKey(secret, compressed)` is the SEC1
 * encoding of secret·G from `ECDH.setPrivateKey()`; `getSharedSecret(secret, public, compressed)`
 * is the SEC1 encoding of secret·Q. OpenSSL gives only that point's x coordinate, so the patch
 * recovers y: of the two points with that x, the one P for which P + Q has the x coordinate of
 * (secret + 1)·Q, computed natively too (a few BigInt operations). Anything node:crypto
 * refuses, or that is not a 32-byte secret as a Uint8Array, goes to noble's original. Upstream,
 * werift would call `createECDH("prime256v1")` in ec.ts itself and need none of this.
 */
import { ECDH, createECDH } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { WeriftPatch } from './types.js';

// P-256 (SEC 2 / FIPS 186-4): y^2 = x^3 - 3x + b over GF(p), a group of prime order n.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

type Bytes = Uint8Array;
interface P256Like {
  getPublicKey: (secretKey: unknown, isCompressed?: boolean) => Bytes;
  getSharedSecret: (secretKeyA: unknown, publicKeyB: unknown, isCompressed?: boolean) => Bytes;
}

const mod = (a: bigint): bigint => ((a % P) + P) % P;
function powMod(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}
const toBig = (bytes: Bytes): bigint => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const to32 = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

/** SEC1 encoding of the point (x, y). */
function encode(x: bigint, y: bigint, compressed: boolean): Bytes {
  const out = compressed ? Buffer.concat([Buffer.of(y & 1n ? 3 : 2), to32(x)]) : Buffer.concat([Buffer.of(4), to32(x), to32(y)]);
  return new Uint8Array(out);
}

const isSecret = (k: unknown): k is Bytes => k instanceof Uint8Array && k.length === 32;
const isPublic = (k: unknown): k is Bytes => k instanceof Uint8Array && (k.length === 33 || k.length === 65);

/** secret·G, SEC1-encoded; undefined when node:crypto refuses. */
export function nativePublicKey(secret: unknown, compressed = true): Bytes | undefined {
  if (!isSecret(secret)) return undefined;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(secret);
    return new Uint8Array(ecdh.getPublicKey(undefined, compressed ? 'compressed' : 'uncompressed'));
  } catch {
    return undefined;
  }
}

/** secret·Q, SEC1-encoded; undefined when node:crypto refuses or for the few secrets the y recovery cannot use. */
export function nativeSharedSecret(secret: unknown, publicKey: unknown, compressed = true): Bytes | undefined {
  if (!isSecret(secret) || !isPublic(publicKey)) return undefined;
  try {
    const d = toBig(secret);
    if (d === 0n || d >= N - 1n) return undefined; // d + 1 must be a valid secret too
    // Any SEC1 encoding as 65 uncompressed bytes; node:crypto checks that the point is on the curve.
    const q = ECDH.convertKey(publicKey, 'prime256v1', undefined, undefined, 'uncompressed') as Buffer;
    const qx = toBig(q.subarray(1, 33));
    const qy = toBig(q.subarray(33, 65));
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(secret);
    const x = toBig(ecdh.computeSecret(publicKey));
    ecdh.setPrivateKey(to32(d + 1n));
    const xNext = toBig(ecdh.computeSecret(publicKey));
    if (x === qx) return undefined; // d·Q = ±Q: d = ±1, not a key anyone generates
    // One of the two square roots of x^3 - 3x + b (p = 3 mod 4, so a root is rhs^((p+1)/4)).
    let y = powMod(mod(x * x * x - 3n * x + B), (P + 1n) / 4n);
    // x of (x, y) + Q: lambda = (qy - y) / (qx - x).
    const lambda = mod((qy - y) * powMod(qx - x, P - 2n));
    const sumX = mod(lambda * lambda - x - qx);
    if (sumX !== xNext) y = mod(-y);
    return encode(x, y, compressed);
  } catch {
    return undefined;
  }
}

/** The `p256` export of the @noble/curves module werift's bundle imports (the same ES module instance). */
function weriftP256(): P256Like {
  const fromWerift = createRequire(createRequire(import.meta.url).resolve('werift'));
  // "@noble/curves/p256" resolved for require() is the CommonJS build; the bundle imports the ES one.
  const cjs = fromWerift.resolve('@noble/curves/p256');
  let dir = dirname(cjs);
  let pkg: { name?: string; exports?: Record<string, { import?: string } | undefined> } = {};
  for (let i = 0; i < 4 && pkg.name !== '@noble/curves'; i++, dir = dirname(dir)) {
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
      if (pkg.name === '@noble/curves') break;
    } catch {
      // no package.json here: go up
    }
  }
  const esm = pkg.name === '@noble/curves' ? pkg.exports?.['./p256']?.import : undefined;
  if (esm === undefined) throw new Error('cannot find the ES build of @noble/curves/p256 next to werift');
  // require() of an ES module (Node >= 20.19) returns its namespace: the instance werift imported.
  const ns = createRequire(import.meta.url)(join(dir, esm)) as { p256?: P256Like };
  if (ns.p256 === undefined) throw new Error('@noble/curves/p256 has no p256 export');
  return ns.p256;
}

/** See the module comment. */
export const p256NativePatch: WeriftPatch = {
  name: 'p256-native',
  summary: 'DTLS P-256 key pair and shared secret through node:crypto instead of @noble/curves in JavaScript (whose first use builds tables: ~65-85 ms blocking)',
  apply() {
    const p256 = weriftP256();
    const getPublicKey = p256.getPublicKey;
    const getSharedSecret = p256.getSharedSecret;
    if (typeof getPublicKey !== 'function' || typeof getSharedSecret !== 'function') throw new Error('@noble/curves p256 has no getPublicKey / getSharedSecret');
    p256.getPublicKey = (secretKey, isCompressed = true) => nativePublicKey(secretKey, isCompressed) ?? getPublicKey(secretKey, isCompressed);
    p256.getSharedSecret = (secretKeyA, publicKeyB, isCompressed = true) =>
      nativeSharedSecret(secretKeyA, publicKeyB, isCompressed) ?? getSharedSecret(secretKeyA, publicKeyB, isCompressed);
  },
};
