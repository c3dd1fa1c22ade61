/**
 * Who a connection is, as established in the HTTP upgrade before the WebSocket exists. With auth
 * off every connection is the anonymous principal, which may do everything.
 */
import type { IncomingMessage } from 'node:http';

export interface Principal {
  /** Identity from the token's `sub`: the name other members see. Undefined when auth is off. */
  sub?: string | undefined;
  /** Room id or glob (`team-*`) this principal may join; undefined means any room. */
  room?: string | undefined;
  /** Capacity the token grants when its holder creates the room. */
  capacity?: number | undefined;
  /** False for receive-only grants: `signal` and `meta` are answered FORBIDDEN. */
  canSend: boolean;
  /** Token expiry (unix seconds); a session outlives it, a resume after it needs a fresh token. */
  expiresAt?: number | undefined;
  /** The admin grant (claim `admin: true`): may use the admin API. Never true with auth off. */
  admin?: boolean | undefined;
}

/** Verifies the credentials of an upgrade or HTTP request. */
export interface Authenticator {
  /** True when requests must carry a token. */
  readonly required: boolean;
  /**
   * Resolves the principal, or throws SigctlError('UNAUTHORIZED' | 'FORBIDDEN') whose message names
   * the reason (missing, malformed, bad signature, wrong algorithm, expired, ...). Never logs the token.
   */
  authenticate(req: IncomingMessage, url: URL): Promise<Principal>;
  /** Verifies a bare token (a STOMP CONNECT's), with the same rules and errors as `authenticate`. */
  verifyToken?(token: string): Promise<Principal>;
  close?(): void;
}

/** The principal of every connection when auth is off. */
export const ANONYMOUS: Principal = Object.freeze({ canSend: true });

/** An authenticator that lets everyone in (the embedded default). */
export const allowAll: Authenticator = Object.freeze({
  required: false,
  authenticate: () => Promise.resolve(ANONYMOUS),
});
