/**
 * Patch "host-addresses" (src/peer/patches/host-addresses.ts): the same host addresses, in the
 * same order, as werift's own getHostAddresses(), without String#localeCompare.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { getHostAddresses } from 'werift';
import { describe, expect, it } from 'vitest';
import { hostAddresses } from '../../src/peer/patches/host-addresses.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` });
const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal, cidr: `${address}/64`, scopeid: 0 });

describe('host-addresses', () => {
  it('matches werift on this host, for every family and link-local choice', () => {
    for (const [ipv4, ipv6] of [[true, false], [false, true], [true, true]] as const) {
      for (const linkLocal of [false, true]) {
        expect(hostAddresses(ipv4, ipv6, linkLocal)).toEqual(getHostAddresses(ipv4, ipv6, { useLinkLocalAddress: linkLocal }));
      }
    }
  });

  it('applies werift’s rules: order by interface name, no internal, no link-local unless asked, no tunnels or bridges', () => {
    const interfaces = {
      wlan0: [v4('192.168.1.20'), v6('fe80::2')],
      eth0: [v4('10.0.0.5'), v4('169.254.3.4'), v6('2001:db8::5')],
      lo: [v4('127.0.0.1', true), v6('::1', true)],
      tun0: [v4('10.8.0.2')],
      veth12ab: [v4('172.17.0.1')],
      enp3s0: [v4('10.1.0.7')],
    };
    expect(hostAddresses(true, false, false, interfaces)).toEqual(['10.1.0.7', '10.0.0.5', '192.168.1.20']);
    expect(hostAddresses(true, true, false, interfaces)).toEqual(['10.1.0.7', '10.0.0.5', '192.168.1.20', '2001:db8::5']);
    expect(hostAddresses(true, true, true, interfaces)).toEqual(['10.1.0.7', '10.0.0.5', '169.254.3.4', '192.168.1.20', '2001:db8::5', 'fe80::2']);
  });
});
