/**
 * Patch "x25519-native" (src/peer/patches/x25519-native.ts): node:crypto X25519 gives tweetnacl's
 * results bit for bit, in tweetnacl's shapes; what node:crypto refuses falls back to tweetnacl.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { nativeKeyPair, nativeScalarMult } from '../../src/peer/patches/x25519-native.js';

interface Nacl {
  scalarMult: ((n: Uint8Array, p: Uint8Array) => Uint8Array) & { base(n: Uint8Array): Uint8Array };
}
// The pure-JavaScript reference (this test file never applies the patch).
const nacl = createRequire(import.meta.url)('tweetnacl') as Nacl;
const random32 = (): Uint8Array => new Uint8Array(randomBytes(32));

describe('x25519-native', () => {
  it('scalarMult equals tweetnacl for random scalars and points', () => {
    for (let i = 0; i < 20; i++) {
      const n = random32();
      const p = i % 2 === 0 ? nacl.scalarMult.base(random32()) : random32(); // real public keys and arbitrary u-coordinates
      expect(nativeScalarMult(n, p)).toEqual(nacl.scalarMult(n, p));
    }
  });

  it('key pairs match tweetnacl: the public key is the base-point multiple of the secret key; both agree on a shared secret', () => {
    const a = nativeKeyPair();
    const b = nativeKeyPair();
    for (const k of [a.publicKey, a.secretKey]) {
      expect(k).toBeInstanceOf(Uint8Array);
      expect(k.buffer.byteLength).toBe(32); // werift reads .buffer
    }
    expect(a.publicKey).toEqual(nacl.scalarMult.base(a.secretKey));
    expect(nativeScalarMult(a.secretKey, b.publicKey)).toEqual(nacl.scalarMult(b.secretKey, a.publicKey));
  });

  it('returns undefined (the patch then calls tweetnacl) for what node:crypto refuses', () => {
    expect(nativeScalarMult(random32(), new Uint8Array(32))).toBeUndefined(); // low-order point: all-zero secret
    expect(nacl.scalarMult(random32(), new Uint8Array(32))).toEqual(new Uint8Array(32));
    expect(nativeScalarMult(new Uint8Array(31), random32())).toBeUndefined();
  });
});
