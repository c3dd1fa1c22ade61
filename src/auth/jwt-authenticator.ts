/**
 * JWT verification with jose. Algorithms are always pinned (never taken from the token), and every
 * failure becomes SigctlError('UNAUTHORIZED') whose message starts with the reason and whose
 * `details.reason` is a stable machine-readable word. The token itself never appears in a message.
 */
import type { IncomingMessage } from 'node:http';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { SigctlError } from '../protocol/errors.js';
import { principalFromClaims } from './claims.js';
import { resolveJwtKeys, type JwtConfig, type JwtKeyOptions } from './jwt-keys.js';
import type { Authenticator, Principal } from './principal.js';
import { findToken } from './token-source.js';

/** Why a token was refused (the `reason` of the 401 body). */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'wrong_algorithm'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience';

export interface JwtAuthenticatorDeps extends JwtKeyOptions {
  /** Clock in ms since the epoch (tests move it instead of sleeping). */
  now?: () => number;
}

function fail(reason: AuthFailure, message: string): SigctlError {
  return new SigctlError('UNAUTHORIZED', message, { details: { reason } });
}

/** Creates an Authenticator that requires a valid JWT on every request. */
export function createJwtAuthenticator(jwt: JwtConfig, deps: JwtAuthenticatorDeps = {}): Authenticator {
  const keys = resolveJwtKeys(jwt, deps);
  const now = deps.now ?? Date.now;
  const expected = keys.algorithms.join(', ');

  async function verify(token: string): Promise<Principal> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw fail('malformed', 'malformed token: not a compact JWS (header.payload.signature)');
    }
    if (typeof alg !== 'string' || token.split('.').length !== 3) throw fail('malformed', 'malformed token: not a signed JWT');
    if (!(keys.algorithms as string[]).includes(alg)) {
      throw fail('wrong_algorithm', `wrong algorithm: ${alg} is not accepted (expected ${expected})`);
    }
    const options: JWTVerifyOptions = {
      algorithms: keys.algorithms,
      clockTolerance: jwt.clockToleranceSeconds,
      currentDate: new Date(now()),
      requiredClaims: ['exp'],
    };
    if (jwt.issuer !== undefined) options.issuer = jwt.issuer;
    if (jwt.audience !== undefined) options.audience = jwt.audience;
    let payload: JWTPayload;
    try {
      // Two calls because jwtVerify's overloads (key vs key resolver) do not accept the union.
      const verified = typeof keys.key === 'function' ? await jwtVerify(token, keys.key, options) : await jwtVerify(token, keys.key, options);
      payload = verified.payload;
    } catch (err) {
      throw translate(err);
    }
    // jose checks `iat` only against a maximum token age; a token issued in the future is refused
    // here, within the same tolerance as `nbf` and `exp` (docs/security.md).
    const iat = payload.iat;
    if (typeof iat === 'number' && iat > now() / 1000 + jwt.clockToleranceSeconds) {
      throw fail('not_yet_valid', `token not yet valid: issued in the future (iat ${new Date(iat * 1000).toISOString()}), beyond auth.jwt.clockToleranceSeconds`);
    }
    const result = principalFromClaims(payload);
    if (!result.ok) throw fail('malformed', `malformed token: ${result.reason}`);
    return result.principal;
  }

  function translate(err: unknown): SigctlError {
    if (err instanceof errors.JWTExpired) {
      const exp = typeof err.payload.exp === 'number' ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : '';
      return fail('expired', `expired token: it expired${exp}`);
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === 'iss') return fail('wrong_issuer', `wrong issuer: expected "${jwt.issuer ?? ''}"`);
      if (err.claim === 'aud') return fail('wrong_audience', `wrong audience: expected "${jwt.audience ?? ''}"`);
      if (err.claim === 'nbf') return fail('not_yet_valid', 'token not yet valid (nbf is in the future)');
      if (err.claim === 'iat') return fail('not_yet_valid', 'token not yet valid: issued in the future (iat)');
      return fail('malformed', `malformed token: claim ${err.claim} ${err.reason}`);
    }
    if (err instanceof errors.JOSEAlgNotAllowed) return fail('wrong_algorithm', `wrong algorithm: expected ${expected}`);
    if (err instanceof errors.JWSSignatureVerificationFailed) return fail('bad_signature', 'bad signature: the token was not signed by the configured key');
    if (err instanceof errors.JWKSNoMatchingKey) return fail('bad_signature', 'bad signature: no key in the JWKS matches the token (kid/alg)');
    if (keys.source === 'jwksUrl' && (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || isFetchError(err))) {
      // The key server is down or broken: not the client's fault, and worth retrying.
      return new SigctlError('UNAVAILABLE', `cannot verify tokens: the JWKS at ${jwt.jwksUrl ?? '?'} is unreachable or invalid`, {
        cause: err,
        details: { reason: 'jwks_unavailable' },
      });
    }
    if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid || err instanceof errors.JOSENotSupported) {
      return fail('malformed', `malformed token: ${err.message}`);
    }
    return fail('malformed', 'malformed token');
  }

  return Object.freeze({
    required: true,
    async authenticate(req: IncomingMessage, url: URL): Promise<Principal> {
      const found = findToken(req, url);
      if ('missing' in found) throw fail('missing', 'missing token: pass ?token=<jwt> or an Authorization: Bearer <jwt> header');
      if ('malformed' in found) throw fail('malformed', `malformed token: ${found.malformed}`);
      return verify(found.token);
    },
    verifyToken: verify,
  });
}

function isFetchError(err: unknown): boolean {
  // jose's fetch rejects with a TypeError/AbortError (connection refused, DNS) or a JOSEError for a non-200.
  return err instanceof TypeError || (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) || (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC');
}
