/**
 * Patch "host-addresses": ICE host-address discovery without initialising ICU's collator.
 *
 * Replaces `Connection.prototype.gatherCandidates` (werift 0.24.4, ice/src/ice.ts). The original
 * lists the host's addresses with `getHostAddresses()` (ice/src/utils.ts, ice/src/internal/
 * selectAddresses.ts), which sorts the network interfaces by name with `String#localeCompare`.
 * The first localeCompare of a process builds an ICU collator, a large share of the time from a
 * fresh process's first createOffer() to its offer on any host with two or more interfaces
 * (measured in docs/werift-patches.md, "host-addresses", with its command).
 *
 * After the patch the same addresses are selected by the same rules (IPv4/IPv6 as configured,
 * no internal interfaces, no link-local unless asked, no ipsec/tun/utun/tap/vmnet/veth
 * interfaces) and interfaces are ordered by comparing their names as strings, which for the
 * names operating systems give (eth0, enp3s0, wlan0, en0, lo...) is the same order. The rest of
 * the method is the original unchanged.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { Connection } from 'werift';
import type { WeriftPatch } from './types.js';

const SKIPPED_PREFIXES = ['ipsec', 'tun', 'utun', 'tap', 'vmnet', 'veth'];

// Node 18.0-18.3 reported `family` as a number.
const familyOf = (info: NetworkInterfaceInfo): number => {
  const family = info.family as string | number;
  return family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : Number(family);
};

const isLinkLocal = (info: NetworkInterfaceInfo): boolean =>
  (familyOf(info) === 4 && info.address.startsWith('169.254.')) || (familyOf(info) === 6 && info.address.startsWith('fe80::'));

/** werift's getHostAddresses(), with the interfaces ordered by a plain string comparison. */
export function hostAddresses(useIpv4: boolean, useIpv6: boolean, useLinkLocalAddress: boolean | undefined, interfaces = networkInterfaces()): string[] {
  const names = Object.keys(interfaces)
    .filter((nic) => !SKIPPED_PREFIXES.some((p) => nic.startsWith(p)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (const family of [...(useIpv4 ? [4] : []), ...(useIpv6 ? [6] : [])]) {
    for (const nic of names) {
      for (const info of interfaces[nic] ?? []) {
        if (familyOf(info) === family && !info.internal && (useLinkLocalAddress === true || !isLinkLocal(info))) out.push(info.address);
      }
    }
  }
  return out;
}

interface ConnectionLike {
  localCandidatesStart: boolean;
  localCandidatesEnd: boolean;
  generation: number;
  localUsername: string;
  protocols: { localCandidate?: { generation?: number; ufrag?: string } }[];
  options: {
    useIpv4: boolean;
    useIpv6: boolean;
    useLinkLocalAddress?: boolean;
    interfaceAddresses?: Record<string, string>;
    additionalHostAddresses?: string[];
  };
  appendLocalCandidate(candidate: unknown): void;
  getCandidatePromises(addresses: string[], timeout: number): Promise<unknown>[];
  setState(state: string): void;
}

/** See the module comment. */
export const hostAddressesPatch: WeriftPatch = {
  name: 'host-addresses',
  summary: 'host addresses for ICE listed without String#localeCompare (whose first call builds an ICU collator: ~5 ms before a fresh process can offer)',
  apply() {
    const proto = Connection.prototype as unknown as { gatherCandidates: (this: ConnectionLike) => Promise<void> };
    proto.gatherCandidates = async function gatherCandidates(this: ConnectionLike): Promise<void> {
      if (!this.localCandidatesStart) {
        this.localCandidatesStart = true;
        for (const protocol of this.protocols) {
          if (protocol.localCandidate) {
            protocol.localCandidate.generation = this.generation;
            protocol.localCandidate.ufrag = this.localUsername;
            this.appendLocalCandidate(protocol.localCandidate);
          }
        }
        let address = hostAddresses(this.options.useIpv4, this.options.useIpv6, this.options.useLinkLocalAddress); // the patch
        const { interfaceAddresses } = this.options;
        if (interfaceAddresses) {
          const filteredAddresses = address.filter((check) => Object.values(interfaceAddresses).includes(check));
          if (filteredAddresses.length) address = filteredAddresses;
        }
        if (this.options.additionalHostAddresses) address = Array.from(new Set([...this.options.additionalHostAddresses, ...address]));
        const candidatePromises = this.getCandidatePromises(address, 5);
        await Promise.allSettled(candidatePromises);
        this.localCandidatesEnd = true;
      }
      this.setState('completed');
    };
  },
};
