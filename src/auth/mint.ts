/**
 * Minting HS256 tokens from the shared secret: what `sigctl token` does, for tests and small
 * deployments. Larger deployments mint tokens in their own backend (any JWT library) with the claims
 * documented in claims.ts.
 */
import { createSecretKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { SigctlError } from '../protocol/errors.js';
import { ADMIN_CLAIM, RECEIVE_ONLY_CLAIM, ROOM_GRANT_PATTERN } from './claims.js';

export interface MintOptions {
  /** HS256 shared secret (auth.jwt.secret), at least 16 characters. */
  secret: string;
  /** Room id or glob granted; may be absent only for an admin token (then: any room). */
  room?: string | undefined;
  /** Identity (`sub`). */
  sub: string;
  ttlSeconds: number;
  capacity?: number | undefined;
  receiveOnly?: boolean | undefined;
  /** The admin grant (claim `admin`). */
  admin?: boolean | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Clock in ms since the epoch. */
  now?: () => number;
}

/** The claims written into a minted token. */
export interface MintedClaims {
  sub: string;
  room?: string;
  iat: number;
  exp: number;
  capacity?: number;
  receiveOnly?: true;
  admin?: true;
  iss?: string;
  aud?: string;
}

/** Signs a sigctl token. Throws SigctlError('USAGE' | 'CONFIG_INVALID') on bad input. */
export async function mintToken(options: MintOptions): Promise<{ token: string; claims: MintedClaims }> {
  if (Buffer.byteLength(options.secret) < 16) throw new SigctlError('CONFIG_INVALID', 'the HS256 secret must be at least 16 characters');
  if (options.room === undefined ? options.admin !== true : !ROOM_GRANT_PATTERN.test(options.room)) throw new SigctlError('USAGE', `--room ${JSON.stringify(options.room ?? '')}: expected a room id or a glob such as team-*`);
  if (options.sub === '' || options.sub.length > 256) throw new SigctlError('USAGE', '--sub must be 1 to 256 characters');
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds <= 0) throw new SigctlError('USAGE', '--ttl must be a positive duration');
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const claims: MintedClaims = { sub: options.sub, iat, exp: iat + options.ttlSeconds };
  if (options.room !== undefined) claims.room = options.room;
  if (options.capacity !== undefined) claims.capacity = options.capacity;
  if (options.receiveOnly === true) claims[RECEIVE_ONLY_CLAIM] = true;
  if (options.admin === true) claims[ADMIN_CLAIM] = true;
  if (options.issuer !== undefined) claims.iss = options.issuer;
  if (options.audience !== undefined) claims.aud = options.audience;
  const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(createSecretKey(Buffer.from(options.secret, 'utf8')));
  return { token, claims };
}

export { parseDuration } from './duration.js';
