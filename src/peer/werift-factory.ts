/**
 * The ONE place where werift RTCPeerConnections are created. Every peer connection in sigctl comes
 * from createWeriftPeerConnection(), so runtime patches to werift (src/peer/patches, owned by the
 * werift-performance work) are applied in exactly one spot, and the werift facts that bite
 * (loopback, public STUN fallback) are handled once.
 */
import { RTCDtlsTransport, RTCPeerConnection, type RTCIceServer } from 'werift';
import type { Clock, TimerHandle } from '../client/clock.js';
import type { IceServer } from '../protocol/messages.js';
import { applyWeriftPatches } from './patches/index.js';

/** What a sigctl peer needs from a werift peer connection's configuration. */
export interface WeriftPeerOptions {
  /** ICE servers from `welcome` plus --ice-server. Always passed: omitted, werift falls back to a public STUN host. */
  iceServers: readonly IceServer[];
  /** Only TURN relay candidates (iceTransportPolicy "relay"). */
  relayOnly?: boolean | undefined;
  /**
   * Add 127.0.0.1 as a host candidate. werift skips loopback interfaces, so without this two peers
   * on one machine with no other interface would find no candidate pair. Default true.
   */
  loopback?: boolean | undefined;
  /** Bind ICE sockets to this IPv4 address only (tests use 127.0.0.1 to keep candidates local). */
  bindAddress?: string | undefined;
}

// ---- werift patch hook: the single call site for runtime patches ---------------------------------
// applyWeriftPatches() (./patches, owned by the werift-performance work) is idempotent and applies
// nothing on a werift version other than the pinned one; nothing else in sigctl touches werift
// internals. Called lazily, so importing this module has no side effect.
let patched = false;
function ensurePatched(): void {
  if (patched) return;
  patched = true;
  applyWeriftPatches();
}
// ---------------------------------------------------------------------------------------------------

/**
 * Applies the runtime patches and starts generating werift's process-wide DTLS certificate
 * (ECDSA P-256 key and self-signed X.509; ~15 ms in a fresh process, much of it in the thread
 * pool) without waiting for it: the first createOffer()/createAnswer() awaits the same promise.
 * Call it while something else is in flight (the join). Idempotent.
 */
export function prepareWerift(): void {
  ensurePatched();
  RTCDtlsTransport.SetupCertificate().catch(() => undefined); // a failure surfaces in createOffer()
}

/** Creates a werift RTCPeerConnection configured for sigctl. */
export function createWeriftPeerConnection(options: WeriftPeerOptions): RTCPeerConnection {
  ensurePatched();
  const iceServers: RTCIceServer[] = options.iceServers.map((s) => ({
    urls: s.urls,
    ...(s.username === undefined ? {} : { username: s.username }),
    ...(s.credential === undefined ? {} : { credential: s.credential }),
  }));
  return new RTCPeerConnection({
    iceServers,
    iceTransportPolicy: options.relayOnly === true ? 'relay' : 'all',
    iceUseIpv6: false,
    ...(options.loopback === false ? {} : { iceAdditionalHostAddresses: ['127.0.0.1'] }),
    ...(options.bindAddress === undefined ? {} : { iceInterfaceAddresses: { udp4: options.bindAddress } }),
  });
}

/**
 * Closes a werift peer connection, bounded: close() can hang on a half-dead transport, and a
 * connection that is never closed keeps the process alive.
 */
export async function closeWeriftPeerConnection(pc: RTCPeerConnection, clock: Clock, limitMs = 2_000): Promise<void> {
  let timer: TimerHandle;
  await Promise.race([
    pc.close().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, limitMs);
    }),
  ]);
  clock.clearTimeout(timer);
}
