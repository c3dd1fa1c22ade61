/**
 * The browser-origin allowlist checked in the HTTP upgrade (cross-site WebSocket hijacking defence).
 *
 * Entries:
 *   https://app.example.com       exact origin: scheme, host and port (default port when absent)
 *   https://*.example.com         any subdomain (not example.com itself) over that scheme and port
 *   app.example.com, *.example.com host only: http or https, any port
 *   *                             any origin;  null  the literal "null" origin (sandboxed iframes, file:)
 *
 * An empty list allows every origin. A request without an Origin header is not from a browser
 * page (curl, a CLI, a server) and is allowed: the Origin check protects browser users, tokens
 * protect the server.
 */
import { SigctlError } from '../protocol/errors.js';

interface OriginRule {
  /** undefined = http or https. */
  scheme?: string;
  /** Exact lower-case host, or the suffix (with leading dot) of a wildcard. */
  host: string;
  wildcard: boolean;
  /** undefined = any port (host-only rules). */
  port?: string;
}

interface ParsedOrigin {
  scheme: string;
  host: string;
  port: string;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };
const HOST = /^(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/i;

function parseOrigin(value: string): ParsedOrigin | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.origin === 'null' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '') return undefined;
  return { scheme: url.protocol, host: url.hostname.toLowerCase(), port: url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? '') : url.port };
}

function parseRule(entry: string, index: number): OriginRule {
  const bad = (why: string): never => {
    throw new SigctlError('CONFIG_INVALID', `origins.${index} = ${JSON.stringify(entry)}: ${why}`, { details: { key: `origins.${index}` } });
  };
  const e = entry.trim();
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(e)?.[1]?.toLowerCase();
  const rest = scheme === undefined ? e : e.slice(scheme.length + 2).replace(/\/$/, '');
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(rest)!;
  const hostPart = m[1]!;
  if (!HOST.test(hostPart)) return bad('expected an origin such as https://app.example.com, or a pattern such as *.example.com');
  const wildcard = hostPart.startsWith('*.');
  const host = (wildcard ? hostPart.slice(1) : hostPart).toLowerCase();
  if (scheme === undefined) {
    if (m[2] !== undefined) return bad('a port needs a scheme (https://host:port)');
    return { host, wildcard };
  }
  if (!wildcard) {
    const parsed = parseOrigin(`${scheme}//${rest}`);
    if (parsed === undefined) return bad('not a valid origin');
    return { scheme: parsed.scheme, host: parsed.host, wildcard, port: parsed.port };
  }
  return { scheme, host, wildcard, port: m[2] ?? DEFAULT_PORTS[scheme] ?? '' };
}

function matches(rule: OriginRule, o: ParsedOrigin): boolean {
  if (rule.scheme === undefined ? o.scheme !== 'http:' && o.scheme !== 'https:' : rule.scheme !== o.scheme) return false;
  if (rule.port !== undefined && rule.port !== o.port) return false;
  return rule.wildcard ? o.host.endsWith(rule.host) && o.host.length > rule.host.length : o.host === rule.host;
}

/**
 * Compiles the `origins` allowlist into a predicate for the Origin header of a request.
 * Throws SigctlError('CONFIG_INVALID') naming the bad entry.
 */
export function createOriginCheck(origins: readonly string[]): (origin: string | undefined) => boolean {
  if (origins.length === 0 || origins.some((o) => o.trim() === '*')) return () => true;
  const allowNull = origins.some((o) => o.trim() === 'null');
  const rules = origins.flatMap((o, i) => (o.trim() === 'null' ? [] : [parseRule(o, i)]));
  return (origin) => {
    if (origin === undefined) return true;
    if (origin === 'null') return allowNull;
    const parsed = parseOrigin(origin);
    return parsed !== undefined && rules.some((r) => matches(r, parsed));
  };
}
