/**
 * The ONE place where werift RTCPeerConnections are created. Every peer connection in sigctl comes
 * from createWeriftPeerConnection(), so runtime patches to werift (src/peer/patches, owned by the
 * werift-performance work) are applied in exactly one spot, and the werift facts that bite
 * (loopback, public STUN fallback) are handled once.
 */
import { RTCPeerConnection, type RTCIceServer } from 'werift';
import type { Clock, TimerHandle } from '../client/clock.js';
import type { IceServer } from '../protocol/messages.js';
import { applyWeriftPatches, type PatchReport } from './patches/index.js';
import { createDtlsKeys, type DtlsKeys } from './certificate.js';

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
// internals. Called lazily, so importing this module has no side effect. A patch that was not
// applied is not an error (werift still works, only slower or with the bug the patch fixes), but
// it must not go unnoticed: it is reported once as a process warning (stderr by default).
let patchReport: PatchReport | undefined;
function ensurePatched(): void {
  if (patchReport !== undefined) return;
  patchReport = applyWeriftPatches();
  const warning = skippedPatchesWarning(patchReport);
  if (warning !== undefined) process.emitWarning(warning, { code: SKIPPED_PATCHES_WARNING });
}

/** The `code` of the process warning emitted when runtime patches were not applied. */
export const SKIPPED_PATCHES_WARNING = 'SIGCTL_WERIFT_PATCHES_SKIPPED';

/** The warning for a patch report with skipped patches (grouped by reason), or undefined when none was skipped. */
export function skippedPatchesWarning(report: PatchReport): string | undefined {
  if (report.skipped.length === 0) return undefined;
  const byReason = new Map<string, string[]>();
  for (const { name, reason } of report.skipped) byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
  const parts = [...byReason].map(([reason, names]) => `${names.join(', ')} (${reason})`);
  return `${report.skipped.length} werift runtime patch(es) not applied, werift runs without them: ${parts.join('; ')}`;
}

/** What the runtime patches did in this process (undefined before the first peer connection or prepareWerift()). */
export function weriftPatchReport(): PatchReport | undefined {
  return patchReport;
}
// ---------------------------------------------------------------------------------------------------

// One DTLS certificate per process, as werift and browsers do (src/peer/certificate.ts says why
// sigctl makes its own). Made on first use.
let dtlsKeys: DtlsKeys | undefined;
/** The process's DTLS certificate and key for werift's `dtls.keys` (made on first call). */
export function processDtlsKeys(): DtlsKeys {
  dtlsKeys ??= createDtlsKeys();
  return dtlsKeys;
}

/**
 * Applies the runtime patches and makes the process's DTLS certificate now rather than in the
 * first createOffer(); call it while something is in flight (the join). Idempotent.
 */
export function prepareWerift(): void {
  ensurePatched();
  processDtlsKeys();
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
    dtls: { keys: { ...processDtlsKeys() } },
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
