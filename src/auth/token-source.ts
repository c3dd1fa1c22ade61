/**
 * Where a request carries its token: `Authorization: Bearer <jwt>` (tools, servers) or `?token=`
 * (browsers cannot set headers on a WebSocket upgrade). The header wins when both are present.
 */
import type { IncomingMessage } from 'node:http';

export type TokenLookup = { token: string } | { missing: true } | { malformed: string };

/** Finds the token of a request without judging it. */
export function findToken(req: Pick<IncomingMessage, 'headers'>, url: URL): TokenLookup {
  const header = req.headers.authorization;
  if (header !== undefined && header.trim() !== '') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m !== null) return { token: m[1]! };
    if (!/^Bearer\b/i.test(header) && url.searchParams.has('token')) return fromQuery(url);
    return { malformed: 'the Authorization header is not "Bearer <token>"' };
  }
  return url.searchParams.has('token') ? fromQuery(url) : { missing: true };
}

function fromQuery(url: URL): TokenLookup {
  const all = url.searchParams.getAll('token');
  if (all.length > 1) return { malformed: 'more than one ?token= parameter' };
  const token = all[0]!.trim();
  return token === '' ? { missing: true } : { token };
}
