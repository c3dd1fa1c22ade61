/**
 * Address and CIDR entries in the configuration (`trustProxy`): checked once by the schema, so the
 * server can build its address sets without failing at run time.
 */
import { isIP } from 'node:net';

/** Why `entry` is not an address or CIDR (`10.0.0.0/8`, `::1`), or undefined when it is one. */
export function addressEntryProblem(entry: string): string | undefined {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return `${JSON.stringify(entry)} is not an IP address or a CIDR range (10.0.0.0/8, fd00::/8)`;
  if (bits === undefined) return undefined;
  if (!/^\d+$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return `${JSON.stringify(entry)} has a bad prefix length /${bits}`;
  return undefined;
}
