/**
 * Patch "udp-lookup": a datagram to an IP address leaves in the `send()` call, without a detour
 * through `dns.lookup` and the next tick.
 *
 * werift 0.24.4 creates its UDP sockets with `dgram.createSocket(type)` (`UdpTransport`,
 * common/src/transport.ts) and sends every packet with `socket.send(data, port, address)`. Node's
 * dgram resolves `address` through the socket's `lookup` for every datagram, and the default
 * (`dns.lookup`) answers even an IP literal on the next tick: each packet costs a closure, a
 * `process.nextTick` entry and a deferred send. In a bulk transfer that is every DATA packet and
 * every SACK (about 830 datagrams per MB at werift's 1200-byte chunks). CPU per send with each
 * lookup: bench/werift-udp-send.ts, figures in docs/werift-patches.md ("udp-lookup").
 *
 * After the patch `UdpTransport.init` (before werift binds the socket) replaces the socket the
 * constructor made, still unbound and unused, with one created with a `lookup` that, once the
 * socket is listening, calls back synchronously for an IP literal (names, and the bind itself, go
 * through `dns.lookup` as before); the constructor's 'message' listener moves to the new socket. Upstream: pass that `lookup` to `createSocket` in
 * the constructor.
 */
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { UdpTransport } from 'werift';
import type { WeriftPatch } from './types.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
type Lookup = (hostname: string, options: number | LookupOneOptions, callback: LookupCallback) => void;

/**
 * A dgram `lookup` that answers IP literals synchronously once `ready()` says so, and goes through
 * dns.lookup (a later tick) otherwise. Until the socket is listening it must stay asynchronous:
 * bind() resolves its address through the same lookup, and a synchronous answer would emit
 * 'listening' inside bind(), before werift's init subscribes to it.
 */
export function literalLookup(ready: () => boolean): Lookup {
  return (hostname, options, callback) => {
    const family = isIP(hostname);
    if (family !== 0 && ready()) {
      callback(null, hostname, family);
      return;
    }
    dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
  };
}

interface UdpTransportLike {
  socket: Socket;
  socketType: SocketType;
}

/** See the module comment. */
export const udpLookupPatch: WeriftPatch = {
  name: 'udp-lookup',
  summary: 'UDP datagrams to an IP address are sent in the send() call (a lookup that answers IP literals at once), not a tick later through dns.lookup',
  apply() {
    const proto = UdpTransport.prototype as unknown as { init: (this: UdpTransportLike) => Promise<void> };
    const original = proto.init;
    if (typeof original !== 'function') throw new Error('UdpTransport.init not found');
    proto.init = function init(this: UdpTransportLike): Promise<void> {
      const old = this.socket;
      let listening = false;
      const fresh = createSocket({ type: this.socketType, lookup: literalLookup(() => listening) });
      fresh.once('listening', () => {
        listening = true;
      });
      for (const listener of old.listeners('message')) fresh.on('message', listener as (msg: Buffer, rinfo: unknown) => void);
      this.socket = fresh;
      try {
        old.close();
      } catch {
        // never bound: nothing to release
      }
      return original.call(this);
    };
  },
};
