/**
 * Turns `auth.jwt` into what jose needs to verify: the pinned algorithm list and the key (an HS256
 * secret, one imported public key, or a remote JWKS). Misconfigurations fail here, at start-up,
 * with CONFIG_INVALID naming the key, rather than as a 401 on every request.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config/schema.js';
import { SigctlError } from '../protocol/errors.js';

export type JwtConfig = NonNullable<Config['auth']['jwt']>;
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256' | 'EdDSA';

/** Verification material: a key (or key resolver) and the algorithms it may be used with. */
export interface JwtKeys {
  algorithms: JwtAlgorithm[];
  key: KeyObject | JWTVerifyGetKey;
  /** Where the key came from, for messages: "secret", "publicKey", "jwksUrl". */
  source: 'secret' | 'publicKey' | 'jwksUrl';
}

export interface JwtKeyOptions {
  /** Abort a JWKS fetch after this long (default 5000 ms). */
  jwksTimeoutMs?: number;
  /** Re-fetch the JWKS at most this often when an unknown `kid` shows up (default 30000 ms). */
  jwksCooldownMs?: number;
}

const ASYMMETRIC: readonly JwtAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

function invalid(message: string, key: string): SigctlError {
  return new SigctlError('CONFIG_INVALID', message, { details: { key } });
}

/** The one algorithm a public key can verify, from its type (and curve for EC). */
function algorithmOf(key: KeyObject): JwtAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
    case 'ed25519':
      return 'EdDSA';
    default:
      return undefined;
  }
}

function loadPublicKey(value: string): KeyObject {
  const pem = value.includes('-----BEGIN') ? value : readPem(value);
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw invalid(`auth.jwt.publicKey is not a PEM public key: ${(err as Error).message}`, 'auth.jwt.publicKey');
  }
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid(`auth.jwt.publicKey: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'auth.jwt.publicKey');
  }
}

/** Resolves and checks the key material of `auth.jwt`. Throws SigctlError('CONFIG_INVALID'). */
export function resolveJwtKeys(jwt: JwtConfig, options: JwtKeyOptions = {}): JwtKeys {
  const sources = (['secret', 'publicKey', 'jwksUrl'] as const).filter((k) => jwt[k] !== undefined);
  if (sources.length !== 1) {
    throw invalid(
      sources.length === 0
        ? 'auth.jwt needs a key: set auth.jwt.secret (HS256), auth.jwt.publicKey or auth.jwt.jwksUrl (RS256/ES256/EdDSA)'
        : `auth.jwt: set only one of secret, publicKey, jwksUrl (got ${sources.join(' and ')})`,
      'auth.jwt',
    );
  }
  const configured = jwt.algorithms;
  if (jwt.secret !== undefined) {
    if (configured !== undefined && configured.some((a) => a !== 'HS256')) {
      throw invalid('auth.jwt.algorithms: auth.jwt.secret only verifies HS256', 'auth.jwt.algorithms');
    }
    if (Buffer.byteLength(jwt.secret) < 16) throw invalid('auth.jwt.secret must be at least 16 characters', 'auth.jwt.secret');
    return { algorithms: ['HS256'], key: createSecretKey(Buffer.from(jwt.secret, 'utf8')), source: 'secret' };
  }
  if (configured?.includes('HS256') === true) {
    throw invalid('auth.jwt.algorithms: HS256 needs auth.jwt.secret (a public key or JWKS cannot verify it)', 'auth.jwt.algorithms');
  }
  if (jwt.publicKey !== undefined) {
    const key = loadPublicKey(jwt.publicKey);
    const alg = algorithmOf(key);
    if (alg === undefined) {
      throw invalid(
        `auth.jwt.publicKey: unsupported key type ${key.asymmetricKeyType ?? '?'} (use RSA for RS256, EC P-256 for ES256, Ed25519 for EdDSA)`,
        'auth.jwt.publicKey',
      );
    }
    if (configured !== undefined && !configured.includes(alg)) {
      throw invalid(`auth.jwt.algorithms [${configured.join(', ')}] does not fit auth.jwt.publicKey, which is a ${alg} key`, 'auth.jwt.algorithms');
    }
    return { algorithms: [alg], key, source: 'publicKey' };
  }
  const url = new URL(jwt.jwksUrl!);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('auth.jwt.jwksUrl must be an http(s) URL', 'auth.jwt.jwksUrl');
  const jwks = createRemoteJWKSet(url, {
    timeoutDuration: options.jwksTimeoutMs ?? 5_000,
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
  });
  return { algorithms: configured !== undefined ? [...configured] : [...ASYMMETRIC], key: jwks, source: 'jwksUrl' };
}
