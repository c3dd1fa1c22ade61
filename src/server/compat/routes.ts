/**
 * Which protocol an upgrade request speaks, from its path and offered subprotocols, before the
 * WebSocket exists (so a wrong path or a bad room id is an HTTP refusal with a JSON reason).
 *
 *   config.path, offering sigctl.v1 or no STOMP subprotocol  -> protocol v1
 *   config.path offering v12.stomp/v11.stomp/v10.stomp        -> STOMP   (compat.stomp)
 *   compat.stompPath                                          -> STOMP   (compat.stomp)
 *   <compat.rawPrefix><room>                                  -> raw room relay (compat.raw)
 *   each of compat.broadcastPaths                             -> broadcast relay (compat.broadcast)
 */
import type { Config } from '../../config/schema.js';
import type { ErrorCode } from '../../protocol/errors.js';
import { ROOM_ID_PATTERN } from '../../protocol/messages.js';
import { SUBPROTOCOL } from '../../protocol/version.js';
import { STOMP_SUBPROTOCOLS } from './stomp-session.js';

/** The protocol of one accepted WebSocket. */
export type Edge = { kind: 'v1' } | { kind: 'stomp' } | { kind: 'raw'; room: string } | { kind: 'broadcast'; room: string };

/** A refusal carries its code only: the HTTP status is the catalogue's (httpStatus). */
export type Route = { ok: true; edge: Edge } | { ok: false; code: ErrorCode; message: string };

const V1: Edge = Object.freeze({ kind: 'v1' });

/** The room a broadcast path's clients share: `broadcast:` and the path without its slashes. */
export function broadcastRoom(path: string): string {
  return `broadcast:${path.replace(/^\/+/, '').replace(/[^A-Za-z0-9._:-]/g, '-') || 'root'}`;
}

/** The subprotocols a client offered (Sec-WebSocket-Protocol, comma separated). */
export function offeredProtocols(header: string | undefined): string[] {
  return header === undefined ? [] : header.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/** The edge for a request to `pathname` offering `offered`, or why it is refused. */
export function routeUpgrade(config: Readonly<Config>, pathname: string, offered: readonly string[]): Route {
  const c = config.compat;
  if (pathname === config.path) {
    const stomp = !offered.includes(SUBPROTOCOL) && offered.some((p) => (STOMP_SUBPROTOCOLS as readonly string[]).includes(p));
    if (stomp && !c.stomp) return { ok: false, code: 'BAD_MESSAGE', message: 'this server does not speak STOMP: start it with serve --compat stomp (config compat.stomp)' };
    return { ok: true, edge: stomp ? { kind: 'stomp' } : V1 };
  }
  if (c.stomp && pathname === c.stompPath) return { ok: true, edge: { kind: 'stomp' } };
  if (c.raw && pathname.startsWith(c.rawPrefix)) {
    let room: string;
    try {
      room = decodeURIComponent(pathname.slice(c.rawPrefix.length));
    } catch {
      room = '';
    }
    if (!ROOM_ID_PATTERN.test(room)) {
      return { ok: false, code: 'BAD_ROOM', message: `room ${JSON.stringify(room.slice(0, 64))} in ${c.rawPrefix}<room> must match ^[A-Za-z0-9._:-]{1,128}$` };
    }
    return { ok: true, edge: { kind: 'raw', room } };
  }
  if (c.broadcast && c.broadcastPaths.includes(pathname)) return { ok: true, edge: { kind: 'broadcast', room: broadcastRoom(pathname) } };
  const also = [c.stomp && c.stompPath, c.raw && `${c.rawPrefix}<room>`, c.broadcast && c.broadcastPaths.join(', ')].filter((x): x is string => typeof x === 'string');
  return { ok: false, code: 'NOT_FOUND', message: `no WebSocket endpoint at ${pathname}; use ${[config.path, ...also].join(' or ')}` };
}
