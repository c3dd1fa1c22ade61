/**
 * sigctl's own DTLS certificate (src/peer/certificate.ts): a well-formed self-signed X.509 v3
 * certificate that node's X.509 parser and werift's (@fidm/x509) both accept. Handshakes with it
 * against werift, node-datachannel and Chromium are covered by werift-interop.test.ts (its werift
 * peers use it) and the peer tests.
 */
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { RTCCertificate } from 'werift';
import { describe, expect, it } from 'vitest';
import { certificateFingerprint, createDtlsKeys } from '../../src/peer/certificate.js';

describe('createDtlsKeys', () => {
  it('makes a self-signed ECDSA P-256 certificate that verifies with its own key', () => {
    const now = new Date('2026-11-22T05:00:00.000Z');
    const keys = createDtlsKeys({ now });
    const cert = new X509Certificate(keys.certPem);
    expect(cert.subject).toBe('CN=sigctl');
    expect(cert.issuer).toBe('CN=sigctl');
    expect(cert.publicKey.asymmetricKeyType).toBe('ec');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(new Date(cert.validFrom).getTime()).toBe(now.getTime() - 24 * 3600_000);
    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 30 * 24 * 3600_000);
    expect(BigInt(`0x${cert.serialNumber}`) > 0n).toBe(true);
    expect(keys.signatureHash).toEqual({ hash: 4, signature: 3 });
    // The private key is the certificate's: a signature by one verifies with the other.
    const key = createPrivateKey(keys.keyPem);
    const sig = sign('sha256', Buffer.from('dtls'), key);
    expect(verify('sha256', Buffer.from('dtls'), cert.publicKey, sig)).toBe(true);
    expect(createPublicKey(key).export({ type: 'spki', format: 'der' })).toEqual(cert.publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('uses GeneralizedTime from 2050 (RFC 5280 4.1.2.5)', () => {
    const cert = new X509Certificate(createDtlsKeys({ now: new Date('2049-12-20T00:00:00.000Z') }).certPem);
    expect(new Date(cert.validTo).getUTCFullYear()).toBe(2050);
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it('is accepted by werift, whose fingerprint matches the certificate', () => {
    const keys = createDtlsKeys();
    const rtc = new RTCCertificate(keys.keyPem, keys.certPem, keys.signatureHash);
    const [fp] = rtc.getFingerprints();
    expect(fp?.algorithm).toBe('sha-256');
    expect(fp?.value).toBe(certificateFingerprint(keys.certPem));
    expect(fp?.value).toBe(new X509Certificate(keys.certPem).fingerprint256);
  });

  it('makes a new key and serial every time', () => {
    const a = createDtlsKeys();
    const b = createDtlsKeys();
    expect(a.keyPem).not.toBe(b.keyPem);
    expect(new X509Certificate(a.certPem).serialNumber).not.toBe(new X509Certificate(b.certPem).serialNumber);
  });
});
