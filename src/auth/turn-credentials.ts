/**
 * TURN REST credentials (draft-uberti-behave-turn-rest-00), the scheme coturn implements with
 * `use-auth-secret` / `static-auth-secret`: username `<expiry-unix-seconds>:<user>`, credential
 * `base64(HMAC-SHA1(secret, username))`. coturn recomputes the HMAC and rejects expired usernames.
 */
import { createHmac } from 'node:crypto';

/** A TURN REST username/credential pair. */
export interface TurnCredentials {
  username: string;
  credential: string;
  /** Unix seconds after which the TURN server refuses them. */
  expiresAt: number;
}

/** Credentials valid for `ttlSeconds` from `nowMs`, for `user` (a session id or a token subject). */
export function turnRestCredentials(secret: string, user: string, ttlSeconds: number, nowMs: number): TurnCredentials {
  const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
  // ':' separates the expiry from the user; coturn takes the first field as the timestamp.
  const username = `${expiresAt}:${user}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt };
}
