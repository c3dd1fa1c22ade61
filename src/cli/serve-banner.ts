/**
 * The banner `sigctl serve` prints on stdout once it listens: every endpoint, one per line (or one
 * JSON line with --json). On a wildcard host (0.0.0.0, ::) the URLs use addresses a client can
 * actually reach: this machine's interface addresses, loopback first. A new endpoint is one more
 * entry in `bannerEntries`.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { CompatConfig } from '../config/schema.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import type { SignalingServer } from '../server/index.js';
import type { Output } from './output.js';

/** One line of the banner: `label` padded, then the URL; `key` names it in the JSON banner. */
export interface BannerEntry {
  key: string;
  label: string;
  url: string;
  /** Printed after the URL in human mode, e.g. "(udp)". */
  note?: string;
}

/** What the banner is made from. */
export interface BannerInput {
  server: SignalingServer;
  /** The compat protocols switched on (docs/compat.md) and the v1 path, for their lines. */
  compat?: Readonly<CompatConfig> | undefined;
  path?: string | undefined;
  /** Interface addresses (os.networkInterfaces() by default; tests pass their own). */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** True for a host that listens on every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * The addresses a client can use for `host`: the host itself, or for a wildcard every interface
 * address of the families it listens on (IPv4 for 0.0.0.0; both for ::, dual-stack), loopback
 * first. IPv6 link-local addresses are left out: they need a zone id no URL carries.
 */
export function reachableAddresses(host: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  if (!isWildcardHost(host)) return [host];
  const v6 = host !== '0.0.0.0';
  const all = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' || (v6 && i.family === 'IPv6' && !i.address.toLowerCase().startsWith('fe80:')));
  const rank = (i: NetworkInterfaceInfo): number => (i.internal ? 0 : 2) + (i.family === 'IPv4' ? 0 : 1);
  const sorted = all.sort((a, b) => rank(a) - rank(b)).map((i) => i.address);
  const unique = [...new Set(sorted)];
  return unique.length > 0 ? unique : [v6 ? '::1' : '127.0.0.1'];
}

/** `base` (a URL of the server) with its host replaced by `address`. */
function at(base: string, address: string): string {
  const url = new URL(base);
  url.hostname = address.includes(':') ? `[${address}]` : address;
  return url.toString().replace(/\/$/, '');
}

/** The banner's lines, in print order. */
export function bannerEntries(input: BannerInput): { reachable: string[]; entries: BannerEntry[] } {
  const { server } = input;
  const addresses = reachableAddresses(server.host, input.interfaces);
  const first = addresses[0]!;
  const http = at(server.httpUrl, first);
  const entries: BannerEntry[] = [
    { key: 'ws', label: 'websocket', url: at(server.url, first) },
    { key: 'healthz', label: 'health', url: `${http}/healthz` },
    { key: 'readyz', label: 'ready', url: `${http}/readyz` },
    { key: 'metrics', label: 'metrics', url: `${http}/metrics` },
    { key: 'nodes', label: 'nodes', url: `${http}/v1/nodes` },
    { key: 'iceServers', label: 'ice', url: `${http}/v1/ice-servers` },
  ];
  if (server.stunPort !== undefined) {
    entries.push({ key: 'stun', label: 'stun', url: `stun:${first.includes(':') ? `[${first}]` : first}:${server.stunPort}`, note: '(udp)' });
  }
  if (server.webUrl !== undefined) entries.push({ key: 'app', label: 'app', url: `${http}/`, note: '(open in a browser)' });
  const c = input.compat;
  const ws = at(server.url, first).slice(0, -(input.path ?? '/ws').length);
  if (c?.stomp === true) entries.push({ key: 'stomp', label: 'stomp', url: at(server.url, first), note: `(subprotocol v12.stomp${c.stompPath === undefined ? '' : `; also ${ws}${c.stompPath}`})` });
  if (c?.raw === true) entries.push({ key: 'raw', label: 'raw rooms', url: `${ws}${c.rawPrefix}<room>` });
  if (c?.broadcast === true) entries.push({ key: 'broadcast', label: 'broadcast', url: c.broadcastPaths.map((p) => ws + p).join(', ') });
  return { reachable: addresses.map((a) => at(server.httpUrl, a)), entries };
}

/** Prints the banner: human lines, or one JSON line with --json. */
export function printBanner(out: Output, input: BannerInput): void {
  const { server } = input;
  const { reachable, entries } = bannerEntries(input);
  if (out.json) {
    const urls = Object.fromEntries(entries.map((e) => [e.key, e.url]));
    out.jsonLine({ type: 'listening', protocol: PROTOCOL_VERSION, host: server.host, port: server.port, listen: reachable[0], reachable, ...urls });
    return;
  }
  const c = out.color;
  const where = isWildcardHost(server.host) ? `every interface (${server.host}), port ${server.port}` : c.bold(reachable[0]!);
  out.result(`sigctl serve listening on ${where} (protocol v${PROTOCOL_VERSION})`);
  const line = (label: string, text: string): void => out.result(`  ${label.padEnd(10)} ${text}`);
  if (isWildcardHost(server.host)) reachable.forEach((url, i) => line(i === 0 ? 'reachable' : '', url));
  for (const e of entries) line(e.label, e.note === undefined ? e.url : `${e.url} ${e.note}`);
}
