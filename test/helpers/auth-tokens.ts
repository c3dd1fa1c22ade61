/**
 * Test helpers for auth: sign arbitrary JWTs (any algorithm, any claims, expired, future) and build
 * request-like objects for Authenticator.authenticate.
 */
import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignJWT, exportJWK, type JWK } from 'jose';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export interface SignOptions {
  alg?: string;
  key?: KeyObject | Uint8Array;
  kid?: string;
  /** Seconds from now until expiry; negative for an already expired token; null for no exp. */
  expiresIn?: number | null;
  nowSeconds?: number;
}

/** Signs `claims` (HS256 with TEST_SECRET unless told otherwise). */
export async function signToken(claims: Record<string, unknown>, options: SignOptions = {}): Promise<string> {
  const alg = options.alg ?? 'HS256';
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader(options.kid === undefined ? { alg } : { alg, kid: options.kid }).setIssuedAt(now);
  const expiresIn = options.expiresIn === undefined ? 3600 : options.expiresIn;
  if (expiresIn !== null) jwt.setExpirationTime(now + expiresIn);
  return jwt.sign(options.key ?? createSecretKey(Buffer.from(TEST_SECRET)));
}

/** An unsigned `alg: none` token, which must always be refused. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}.`;
}

export interface TestKeyPair {
  alg: 'RS256' | 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
  jwk: JWK;
}

/** A fresh key pair for an asymmetric algorithm, with its public PEM and JWK (kid set). */
export async function keyPair(alg: 'RS256' | 'ES256' | 'EdDSA', kid = `${alg}-key`): Promise<TestKeyPair> {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  return { alg, privateKey: pair.privateKey, publicKey: pair.publicKey, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), jwk };
}

/** The parts of an IncomingMessage an Authenticator reads. */
export function requestWith(headers: Record<string, string> = {}): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

/** A ws URL with an optional ?token=. */
export function urlWith(token?: string): URL {
  const url = new URL('http://127.0.0.1/ws');
  if (token !== undefined) url.searchParams.set('token', token);
  return url;
}
