/**
 * Start-up warnings for a server exposed beyond loopback without its defences. The embedded
 * default (127.0.0.1, no auth, any origin) is right for a laptop and wrong for the internet;
 * `serve` prints these so the second case is never silent.
 */
import { isIP } from 'node:net';
import type { Config } from '../config/schema.js';

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** Human-readable warnings for `config` (empty when it listens on loopback or is fully guarded). */
export function exposureWarnings(config: Pick<Config, 'host' | 'auth' | 'origins' | 'tls'>): string[] {
  if (isLoopbackHost(config.host)) return [];
  const where = `listening on ${config.host}, beyond this machine`;
  const out: string[] = [];
  if (config.auth.jwt === undefined) out.push(`${where} without auth.jwt: anyone who reaches the port can join any room (see docs/security.md)`);
  if (config.origins.length === 0) out.push(`${where} with an empty origins list: any web page can open connections from its visitors' browsers`);
  if (config.auth.jwt !== undefined && config.tls.cert === undefined) {
    out.push(`${where} without TLS (tls.cert/tls.key): tokens travel in clear text unless a TLS proxy terminates in front`);
  }
  return out;
}
