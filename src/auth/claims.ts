/**
 * The sigctl token claims and how they become a Principal (documented in docs/security.md):
 *
 *   sub          string   the member's identity: the name other members see
 *   room         string   a room id or a glob (`team-*`); absent = any room
 *   capacity     integer  capacity of the room when this holder creates it
 *   receiveOnly  boolean  true = may join and receive, but `signal` and `meta` are FORBIDDEN
 *   admin        boolean  true = may use the admin API (/v1/rooms: list, show, kick, close)
 *   exp          number   required: sigctl accepts no token that never expires
 */
import { z } from 'zod';
import type { Principal } from './principal.js';

/** A room id or a glob of room-id characters and `*`. */
export const ROOM_GRANT_PATTERN = /^[A-Za-z0-9._:*-]{1,128}$/;

/** Claim name of the receive-only permission flag. */
export const RECEIVE_ONLY_CLAIM = 'receiveOnly';

/** Claim name of the admin grant (the admin API, docs/operations.md). */
export const ADMIN_CLAIM = 'admin';

export const TokenClaims = z.looseObject({
  sub: z.string().min(1).max(256).optional(),
  room: z.string().regex(ROOM_GRANT_PATTERN, 'must be a room id or a glob such as team-*').optional(),
  capacity: z.number().int().positive().max(10_000).optional(),
  [RECEIVE_ONLY_CLAIM]: z.boolean().optional(),
  [ADMIN_CLAIM]: z.boolean().optional(),
  exp: z.number({ error: 'is required (tokens must expire)' }).int(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

/** Validates the sigctl claims of a verified payload; returns a reason on failure. */
export function principalFromClaims(payload: unknown): { ok: true; principal: Principal } | { ok: false; reason: string } {
  const parsed = TokenClaims.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `claim ${issue.path.join('.') || '(payload)'} ${issue.message}` };
  }
  const c = parsed.data;
  return {
    ok: true,
    principal: Object.freeze({
      sub: c.sub,
      room: c.room,
      capacity: c.capacity,
      canSend: c[RECEIVE_ONLY_CLAIM] !== true,
      expiresAt: c.exp,
      // Only present when granted, so a plain principal looks as it always did.
      ...(c[ADMIN_CLAIM] === true ? { admin: true } : {}),
    }),
  };
}
