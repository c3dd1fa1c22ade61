/**
 * The addresses the serve banner shows for a host: a wildcard becomes this machine's addresses,
 * loopback first, IPv6 only for `::`, link-local IPv6 left out (no URL carries a zone id).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { reachableAddresses } from '../../src/cli/serve-banner.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal: boolean): NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: family === 'IPv4' ? '255.0.0.0' : 'ffff::', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;

const MACHINE = {
  eth0: [iface('192.0.2.10', 'IPv4', false), iface('2001:db8::10', 'IPv6', false), iface('fe80::1', 'IPv6', false)],
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
};

describe('reachableAddresses', () => {
  it('keeps a concrete host as it is', () => {
    expect(reachableAddresses('10.1.2.3', MACHINE)).toEqual(['10.1.2.3']);
  });
  it('0.0.0.0: IPv4 addresses, loopback first', () => {
    expect(reachableAddresses('0.0.0.0', MACHINE)).toEqual(['127.0.0.1', '192.0.2.10']);
  });
  it(':: : both families, loopback first, no link-local', () => {
    expect(reachableAddresses('::', MACHINE)).toEqual(['127.0.0.1', '::1', '192.0.2.10', '2001:db8::10']);
  });
  it('falls back to loopback when the machine lists nothing', () => {
    expect(reachableAddresses('0.0.0.0', {})).toEqual(['127.0.0.1']);
  });
});
