/**
 * Access control for `serve`: token verification (checked in the HTTP upgrade and on
 * GET /v1/ice-servers), room and send grants (checked on join, signal and meta), and the browser
 * origin allowlist. docs/security.md describes what is checked where.
 */
import type { Config } from '../config/schema.js';
import { createJwtAuthenticator, type JwtAuthenticatorDeps } from './jwt-authenticator.js';
import { allowAll, type Authenticator, type Principal } from './principal.js';
import { roomMatches } from './room-pattern.js';

export { ANONYMOUS, allowAll, type Authenticator, type Principal } from './principal.js';
export { roomMatches } from './room-pattern.js';
export { createOriginCheck } from './origins.js';
export { mintToken, parseDuration, type MintOptions, type MintedClaims } from './mint.js';
export { RECEIVE_ONLY_CLAIM, TokenClaims } from './claims.js';
export { exposureWarnings, isLoopbackHost } from './exposure.js';
export type { AuthFailure, JwtAuthenticatorDeps } from './jwt-authenticator.js';

/** Dependencies of createAuthenticator (all optional). */
export type AuthenticatorDeps = JwtAuthenticatorDeps;

/**
 * The authenticator for `auth`: everyone is let in when `auth.jwt` is absent, otherwise a valid
 * JWT is required. Throws SigctlError('CONFIG_INVALID') at once for a bad key or algorithm setup.
 */
export function createAuthenticator(auth: Config['auth'], deps: AuthenticatorDeps = {}): Authenticator {
  return auth.jwt === undefined ? allowAll : createJwtAuthenticator(auth.jwt, deps);
}

/**
 * A permission decision: allowed, or refused with the FORBIDDEN message the client is told and a
 * machine-readable reason (for logs and metrics). Decisions are values: callers branch, nothing throws.
 */
export type AuthDecision = { readonly allowed: true } | { readonly allowed: false; readonly code: 'FORBIDDEN'; readonly message: string; readonly reason: 'wrong_room' | 'receive_only' | 'resume_identity' };

const ALLOWED: AuthDecision = Object.freeze({ allowed: true });

function forbidden(message: string, reason: 'wrong_room' | 'receive_only' | 'resume_identity'): AuthDecision {
  return { allowed: false, code: 'FORBIDDEN', message, reason };
}

/** Refused (FORBIDDEN) when the principal's grant does not cover `room`. */
export function authorizeJoin(principal: Principal, room: string): AuthDecision {
  if (principal.room !== undefined && !roomMatches(principal.room, room)) return forbidden(`this token grants room "${principal.room}", not "${room}"`, 'wrong_room');
  return ALLOWED;
}

/** Refused (FORBIDDEN) for receive-only principals (on `signal` and `meta`). */
export function authorizeSend(principal: Principal, what: 'signal' | 'meta'): AuthDecision {
  return principal.canSend ? ALLOWED : forbidden(`this token is receive-only: ${what} is not allowed`, 'receive_only');
}

/**
 * Refused (FORBIDDEN) when `principal` may not take over the member named `memberName` with a
 * resume token. With auth off (no token: no expiry) the resume token alone decides. With auth on a
 * resume token is bound to the identity it was issued to: only a token whose `sub` is the member's
 * name (a token's `sub` is always its member's name) may resume it; the room grant is checked on
 * the join itself, and a resume token only works in its own room.
 */
export function authorizeResume(principal: Principal, memberName: string): AuthDecision {
  if (principal.expiresAt === undefined) return ALLOWED;
  if (principal.sub === undefined || principal.sub !== memberName) {
    const who = principal.sub === undefined ? 'a token without sub' : `the token of "${principal.sub}"`;
    return forbidden(`cannot resume: the resume token belongs to another identity than ${who}`, 'resume_identity');
  }
  return ALLOWED;
}
