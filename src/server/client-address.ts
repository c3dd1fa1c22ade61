/**
 * The client's address behind trusted reverse proxies (config `trustProxy`). A proxy appends the
 * address it received the request from to `X-Forwarded-For`; only the entries added by proxies we
 * trust can be believed, so the list is read from the right, skipping trusted proxies, and the
 * first address not in the trusted set is the client (a client can put anything to the left of
 * what its first proxy appends). Without trusted proxies the socket's peer address is the client.
 * Entries were checked by the config schema (src/config/cidr.ts).
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Resolves a request to the address per-IP limits and logs use. */
export type ClientAddress = (req: IncomingMessage) => string;

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is 10.0.0.1. */
function normalize(address: string): string {
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  return mapped?.[1] ?? trimmed;
}

/** The set of trusted proxies. */
function trustedSet(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** A resolver believing `X-Forwarded-For` only as far as it was written by `trustProxy` proxies. */
export function createClientAddress(trustProxy: readonly string[]): ClientAddress {
  if (trustProxy.length === 0) return (req) => normalize(req.socket.remoteAddress ?? 'unknown');
  const trusted = trustedSet(trustProxy);
  return (req) => {
    let client = normalize(req.socket.remoteAddress ?? 'unknown');
    if (!trusted(client)) return client;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map(normalize).filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      // Garbage in the header ends the walk: what is left of it was not written by a proxy we know.
      if (isIP(hop) === 0) break;
      client = hop;
      if (!trusted(hop)) break;
    }
    return client;
  };
}
