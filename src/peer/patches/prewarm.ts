/**
 * Start-up warm-up for werift (issue 5): the first connection of a process pays for generating
 * the DTLS certificate (ECDSA P-256 key + self-signed X.509 through @peculiar/x509) and for
 * JIT-compiling the handshake paths. Run prewarmWerift() while something else is in flight (the
 * signaling WebSocket connecting) so the first real connection does not pay for it.
 */
import { RTCDtlsTransport, RTCPeerConnection } from 'werift';

/** Options for prewarmWerift(). */
export interface PrewarmOptions {
  /**
   * Also run one throwaway in-process loopback connection (two peers, one data channel), which
   * JIT-warms the handshake too. Default true. (Without the no-default-stun patch every werift
   * gathering, this one included, queries stun.l.google.com and can wait 5 s for it.)
   */
  readonly handshake?: boolean;
  /** Upper bound for the throwaway connection, ms. Default 3000. */
  readonly timeoutMs?: number;
}

/**
 * Generates werift's process-wide DTLS certificate and, optionally, JIT-warms a full handshake.
 * Resolves true when the throwaway channel opened (false if it timed out or was not asked for).
 */
export async function prewarmWerift(options: PrewarmOptions = {}): Promise<boolean> {
  await RTCDtlsTransport.SetupCertificate();
  if (options.handshake === false) return false;
  const config = {
    iceServers: [],
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceAdditionalHostAddresses: ['127.0.0.1'],
  };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  let timer: NodeJS.Timeout | undefined;
  try {
    const channel = a.createDataChannel('sigctl-prewarm');
    const open = new Promise<void>((resolve) => {
      channel.stateChanged.subscribe((state) => {
        if (state === 'open') resolve();
      });
    });
    // Trickle within the process: no gathering wait.
    a.onIceCandidate.subscribe((c) => {
      if (c) b.addIceCandidate(c).catch(() => undefined);
    });
    b.onIceCandidate.subscribe((c) => {
      if (c) a.addIceCandidate(c).catch(() => undefined);
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription as NonNullable<typeof a.localDescription>);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription as NonNullable<typeof b.localDescription>);
    return await Promise.race([
      open.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), options.timeoutMs ?? 3000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await Promise.allSettled([a.close(), b.close()]);
  }
}
