/**
 * The admin API on the server's own port (docs/operations.md): list rooms, show a room, kick a
 * member, close a room. Every request needs a token with the admin grant (claim `admin: true`,
 * `sigctl token --admin`): no token or a bad one is 401 UNAUTHORIZED, a valid token without the
 * grant is 403 FORBIDDEN, and with auth off (no auth.jwt) the API is refused with 403 as a whole,
 * since nobody can hold the grant. Reads go to the store, so any node lists the rooms of every
 * node; kicks and closes go to the hub, which reaches members held by other nodes.
 *
 * The routes join the server's route table (./http.ts) beside the built-in ones (./routes.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/principal.js';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import { ROOM_ID_PATTERN } from '../protocol/messages.js';
import type { Store } from '../store/store.js';
import { sendError, sendJson } from './http.js';

/** What the admin API asks of the hub: the operator's kick and close (they reach every node). */
export interface RoomControl {
  kick(room: string, memberId: string): Promise<'kicked' | 'not-found'>;
  closeRoom(room: string): Promise<number>;
}

/** What the admin routes read. */
export interface AdminContext {
  authenticator: Authenticator;
  store: Store;
  /** The hub's kick and close; undefined when this build's hub has none (then 503 UNAVAILABLE). */
  control: RoomControl | undefined;
  now: () => number;
}

type AdminMethod = 'GET' | 'DELETE';

/** One admin route (the shape of an entry of the server's route table). */
export interface AdminRoute {
  readonly path: RegExp;
  readonly methods: readonly AdminMethod[];
  handle(req: IncomingMessage, res: ServerResponse, match: { url: URL; params: Readonly<Record<string, string>> }): Promise<void>;
}

/** Default and largest page of GET /v1/rooms. */
export const ROOMS_PAGE = { default: 100, max: 1000 } as const;

/** A path segment as the room or member id it names; undefined when it cannot be one. */
function segment(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const id = decodeURIComponent(raw);
    return ROOM_ID_PATTERN.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The `?cursor=` of a page: the last room id of the previous page, base64url (opaque to callers). */
function encodeCursor(room: string): string {
  return Buffer.from(room, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string | undefined {
  const room = Buffer.from(cursor, 'base64url').toString('utf8');
  return ROOM_ID_PATTERN.test(room) && encodeCursor(room) === cursor ? room : undefined;
}

function limitOf(url: URL): number {
  const raw = url.searchParams.get('limit');
  if (raw === null) return ROOMS_PAGE.default;
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > ROOMS_PAGE.max) {
    throw new SigctlError('BAD_MESSAGE', `?limit=${JSON.stringify(raw).slice(1, -1)}: expected a whole number from 1 to ${ROOMS_PAGE.max}`);
  }
  return Number(raw);
}

/** Throws UNAUTHORIZED / FORBIDDEN unless the request carries a token with the admin grant. */
async function authorize(ctx: AdminContext, req: IncomingMessage, url: URL): Promise<void> {
  if (!ctx.authenticator.required) {
    throw new SigctlError('FORBIDDEN', 'the admin API needs authentication: configure auth.jwt and use a token minted with sigctl token --admin');
  }
  const principal = await ctx.authenticator.authenticate(req, url);
  if (principal.admin !== true) throw new SigctlError('FORBIDDEN', 'the token has no admin grant (claim "admin": true; sigctl token --admin)');
}

/** Wraps a handler: authorisation first, and SigctlErrors answered with their code's status. */
function guarded(ctx: AdminContext, handle: AdminRoute['handle']): AdminRoute['handle'] {
  return async (req, res, match) => {
    try {
      await authorize(ctx, req, match.url);
      await handle(req, res, match);
    } catch (err) {
      if (!isSigctlError(err) || err.code === 'INTERNAL') throw err;
      sendError(res, err.code, err.message);
    }
  };
}

function noRoom(room: string): SigctlError {
  return new SigctlError('NOT_FOUND', `no room ${JSON.stringify(room)}`);
}

function controlOf(ctx: AdminContext): RoomControl {
  if (ctx.control === undefined) throw new SigctlError('UNAVAILABLE', 'this server cannot kick or close rooms (its hub has no operator controls)');
  return ctx.control;
}

/** The admin routes (see the module comment). */
export function adminRoutes(ctx: AdminContext): AdminRoute[] {
  return [
    {
      path: /^\/v1\/rooms$/,
      methods: ['GET'],
      handle: guarded(ctx, async (_req, res, { url }) => {
        const limit = limitOf(url);
        const cursor = url.searchParams.get('cursor');
        const after = cursor === null || cursor === '' ? undefined : decodeCursor(cursor);
        if (cursor !== null && cursor !== '' && after === undefined) throw new SigctlError('BAD_MESSAGE', '?cursor= is not a cursor this API returned');
        const page = await ctx.store.listRooms({ limit, after });
        const now = ctx.now();
        const rooms = page.rooms.map((r) => ({ ...r, ageMs: r.createdAt === undefined ? undefined : Math.max(0, now - r.createdAt) }));
        sendJson(res, 200, { rooms, next: page.next === undefined ? undefined : encodeCursor(page.next) });
      }),
    },
    {
      path: /^\/v1\/rooms\/(?<room>[^/]+)$/,
      methods: ['GET', 'DELETE'],
      handle: guarded(ctx, async (req, res, { params }) => {
        const room = segment(params.room);
        if (room === undefined) throw new SigctlError('NOT_FOUND', 'no such room: a room id matches ^[A-Za-z0-9._:-]{1,128}$');
        if (req.method === 'DELETE') {
          const control = controlOf(ctx);
          if ((await ctx.store.roomDetail(room)) === undefined) throw noRoom(room);
          sendJson(res, 200, { room, closed: true, kicked: await control.closeRoom(room) });
          return;
        }
        const detail = await ctx.store.roomDetail(room);
        if (detail === undefined) throw noRoom(room);
        const now = ctx.now();
        const createdAt = detail.room.createdAt;
        sendJson(res, 200, {
          room: { ...detail.room, ageMs: createdAt === undefined ? undefined : Math.max(0, now - createdAt) },
          members: detail.members.map((m) => ({ id: m.id, name: m.name, meta: m.meta, node: m.node, joinedAt: m.joinedAt })),
        });
      }),
    },
    {
      path: /^\/v1\/rooms\/(?<room>[^/]+)\/members\/(?<member>[^/]+)$/,
      methods: ['DELETE'],
      handle: guarded(ctx, async (_req, res, { params }) => {
        const room = segment(params.room);
        const member = segment(params.member);
        if (room === undefined || member === undefined) throw new SigctlError('NOT_FOUND', 'no such member');
        const control = controlOf(ctx);
        if ((await control.kick(room, member)) === 'not-found') throw new SigctlError('NOT_FOUND', `no member ${JSON.stringify(member)} in room ${JSON.stringify(room)}`);
        sendJson(res, 200, { room, member, kicked: true });
      }),
    },
  ];
}
