/**
 * Patch "udp-buffers": larger UDP socket buffers.
 *
 * Replaces `UdpTransport.prototype.init` (werift 0.24.4, common/src/transport.ts). The original
 * binds the socket and keeps the kernel's default buffers (net.core.rmem_default, ~208 KiB on
 * Linux). A data channel keeps up to cwnd (grown towards the peer's 1 MiB receive window) in
 * flight, and the receiving process reads its socket only between JavaScript tasks, so bursts
 * overflow the default receive buffer: the kernel drops them and SCTP has to recover (fast
 * retransmit or, worse, a 1 s+ T3 timeout).
 *
 * After the patch, init() asks for 4 MiB receive and send buffers once the socket is bound. The
 * kernel caps the request at net.core.rmem_max / wmem_max; a refusal is ignored (the socket then
 * keeps its default, exactly as before).
 */
import { UdpTransport } from 'werift';
import type { WeriftPatch } from './types.js';

/** Requested SO_RCVBUF / SO_SNDBUF size in bytes. */
export const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

interface UdpTransportLike {
  socket: { setRecvBufferSize(size: number): void; setSendBufferSize(size: number): void };
}

/** See the module comment. */
export const udpBuffersPatch: WeriftPatch = {
  name: 'udp-buffers',
  summary: 'UDP sockets ask for 4 MiB receive/send buffers instead of the kernel default (~208 KiB)',
  apply() {
    const proto = UdpTransport.prototype as unknown as { init: (this: UdpTransportLike) => Promise<void> };
    const original = proto.init;
    proto.init = async function init(this: UdpTransportLike): Promise<void> {
      await original.call(this);
      for (const set of [() => this.socket.setRecvBufferSize(UDP_BUFFER_BYTES), () => this.socket.setSendBufferSize(UDP_BUFFER_BYTES)]) {
        try {
          set();
        } catch {
          // the kernel refused (e.g. a sandbox): keep its default, as unpatched werift does
        }
      }
    };
  },
};
