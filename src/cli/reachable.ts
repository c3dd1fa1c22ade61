/**
 * A URL someone else can open: a server bound to a wildcard address (0.0.0.0, ::) is named by this
 * machine's first external IPv4 address (127.0.0.1 when it has none), never by the wildcard.
 */
import { networkInterfaces } from 'node:os';

const WILDCARDS = new Set(['0.0.0.0', '[::]', '[::0]']);

/** `url` with a wildcard host replaced by a reachable address. */
export function reachableUrl(url: string): string {
  const u = new URL(url);
  if (!WILDCARDS.has(u.hostname)) return url;
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
  u.hostname = external?.address ?? '127.0.0.1';
  return u.toString();
}

/** The browser app's link to `room` on the server whose WebSocket URL is `wsUrl` (docs/web.md). */
export function browserLink(wsUrl: string, room: string): string {
  const u = new URL(reachableUrl(wsUrl));
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.username = u.password = '';
  u.pathname = '/';
  u.search = `?room=${encodeURIComponent(room)}`;
  u.hash = '';
  return u.toString();
}
