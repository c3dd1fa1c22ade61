/**
 * The ONE place where werift RTCPeerConnections are created. Every peer connection in sigctl comes
 * from createWeriftPeerConnection(), so runtime patches to werift (src/peer/patches) are applied in
 * exactly one spot, and the werift facts that bite
 * (loopback, public STUN fallback) are handled once.
 */
import { RTCPeerConnection, type RTCIceServer } from 'werift';
import type { Clock, TimerHandle } from '../client/clock.js';
import type { IceServer } from '../protocol/messages.js';
import { applyWeriftPatches, WERIFT_PATCH_NAMES, type PatchReport } from './patches/index.js';
import { createDtlsKeys, type DtlsKeys } from './certificate.js';
import type { WeriftPatchStatus } from './patch-status.js';

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
// applyWeriftPatches() (./patches) is idempotent and applies nothing on a werift version other than
// the pinned one; nothing else in sigctl touches werift internals. Called lazily, so importing this
// module has no side effect. A patch that was not applied is not an error (werift still works, only
// slower or with the bug the patch fixes), but it must not go unnoticed: prepareWerift() returns the
// status, the peer session emits it ('patches', in `sigctl peer --json` and the bench report) and
// logs one warning through its logger when anything was skipped.
let patchStatus: WeriftPatchStatus | undefined;
function ensurePatched(): WeriftPatchStatus {
  patchStatus ??= statusOf(applyWeriftPatches());
  return patchStatus;
}

/** The status for one applyWeriftPatches() report. */
export function statusOf(report: PatchReport): WeriftPatchStatus {
  const installed = new Set([...report.applied, ...report.alreadyApplied]);
  return {
    weriftVersion: report.weriftVersion,
    targetVersion: report.targetVersion,
    applied: WERIFT_PATCH_NAMES.filter((n) => installed.has(n)),
    skipped: report.skipped,
  };
}

/** What the runtime patches did in this process (undefined before the first peer connection or prepareWerift()). */
export function weriftPatchStatus(): WeriftPatchStatus | undefined {
  return patchStatus;
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
 * first createOffer(); call it while something is in flight (the join). Idempotent; returns what
 * the patches did (the same object on every call).
 */
export function prepareWerift(): WeriftPatchStatus {
  const status = ensurePatched();
  processDtlsKeys();
  return status;
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
