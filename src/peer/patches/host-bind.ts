/**
 * Patch "host-bind": each host candidate's UDP socket is bound to the candidate's own address
 * instead of the wildcard address.
 *
 * werift 0.24.4 gathers one UDP socket per host address (`Connection.getCandidatePromises`,
 * ice/src/ice.ts) but binds every one of them to 0.0.0.0 (`UdpTransport.init`, common/src/
 * transport.ts, binds to `interfaceAddresses[type]`, which is unset unless the application
 * restricts ICE to one address). A reply then leaves from whatever source address the kernel's
 * route picks, not necessarily the address that was checked: a check from 192.0.2.2 to werift's
 * 127.0.0.1 candidate is answered from 192.0.2.2. RFC 8445 7.2.5.2.1 makes the checking agent
 * discard a response whose source is not the address it sent the request to; Chromium does, and
 * succeeds only at its next check of another pair, tens of milliseconds later (the capture and
 * its figures: docs/werift-patches.md, "host-bind"). A host with several
 * addresses (a multi-homed server) has the same problem on every interface.
 *
 * After the patch the socket created for each host address is bound to that address, when it
 * is an address of this host (`os.networkInterfaces()`, and not IPv6 link-local, which would need
 * a scope); otherwise (e.g. an `iceAdditionalHostAddresses` entry announcing a public address
 * mapped 1:1 by NAT) it stays on the wildcard address as before. Relay and server-reflexive
 * sockets are unchanged.
 *
 * werift passes no address to the socket it creates for a host address, so the patch hands it
 * over: `getCandidatePromises` creates its host sockets synchronously, one per address and in the
 * order of the addresses, before its first await; the wrapper queues those addresses for exactly
 * that synchronous call, and `UdpTransport.init` takes the next one. Upstream this is one line:
 * `connectionMade(isIPv4(address), portRange, { ...interfaceAddresses, [udp4|udp6]: address })`.
 */
import { networkInterfaces } from 'node:os';
import { Connection, UdpTransport } from 'werift';
import type { WeriftPatch } from './types.js';

type SocketType = 'udp4' | 'udp6';
type InterfaceAddresses = Partial<Record<SocketType, string>>;
interface UdpInitOptions {
  portRange?: unknown;
  interfaceAddresses?: InterfaceAddresses;
  port?: number;
}

interface ConnectionLike {
  iceLite?: boolean;
  turnServer?: unknown;
  protocols: { localIp?: string }[];
  options: { forceTurn?: boolean; turnUsername?: string; turnPassword?: string };
}

/** Addresses whose host sockets the running getCandidatePromises() call is about to create, in order. */
let pendingHostAddresses: string[] = [];

/** True when `address` is one of this host's own addresses and a socket of `type` can bind to it. */
export function bindableHostAddress(address: string, type: SocketType, interfaces = networkInterfaces()): boolean {
  const family = type === 'udp4' ? 'IPv4' : 'IPv6';
  if (family === 'IPv6' && address.toLowerCase().startsWith('fe80:')) return false;
  return Object.values(interfaces).some((infos) => (infos ?? []).some((i) => i.address === address && String(i.family) === family));
}

/** The UdpTransport.init options for a host socket of `address` (unchanged when it cannot bind there). */
export function hostBindOptions(type: SocketType, options: UdpInitOptions, address: string | undefined): UdpInitOptions {
  if (address === undefined || !bindableHostAddress(address, type)) return options;
  return { ...options, interfaceAddresses: { ...options.interfaceAddresses, [type]: address } };
}

/** See the module comment. */
export const hostBindPatch: WeriftPatch = {
  name: 'host-bind',
  summary: "each host candidate's socket is bound to the candidate's own address, not 0.0.0.0, so replies leave from the address that was checked",
  apply() {
    const udp = UdpTransport as unknown as { init: (type: SocketType, options?: UdpInitOptions) => Promise<unknown> };
    const init = udp.init;
    const proto = Connection.prototype as unknown as { getCandidatePromises: (this: ConnectionLike, addresses: string[], timeout?: number) => unknown };
    const getCandidatePromises = proto.getCandidatePromises;
    if (typeof init !== 'function' || typeof getCandidatePromises !== 'function') throw new Error('UdpTransport.init or Connection.prototype.getCandidatePromises is not a function');
    udp.init = function (this: unknown, type: SocketType, options: UdpInitOptions = {}): Promise<unknown> {
      return init.call(this, type, hostBindOptions(type, options, pendingHostAddresses.shift()));
    };
    proto.getCandidatePromises = function (this: ConnectionLike, addresses: string[], ...rest: [number?]): unknown {
      // werift's own rules: no host sockets when gathering relay candidates only, none twice for one address.
      const relayOnly = this.iceLite !== true && this.options.forceTurn === true && Boolean(this.turnServer) && Boolean(this.options.turnUsername) && Boolean(this.options.turnPassword);
      pendingHostAddresses = relayOnly ? [] : addresses.filter((a) => !this.protocols.some((p) => p.localIp === a));
      try {
        return getCandidatePromises.call(this, addresses, ...rest);
      } finally {
        pendingHostAddresses = [];
      }
    };
  },
};
