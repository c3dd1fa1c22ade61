/**
 * Runtime patches for werift's data-channel hot paths (issue 5). See docs/werift-patches.md.
 *
 * Patches replace specific prototype methods of werift 0.24.4's classes at runtime, so they work
 * both in this repository and for a user running `npx sigctl` from a packed tarball (no postinstall
 * edit of node_modules). Nothing happens at import time: call applyWeriftPatches() once before
 * creating RTCPeerConnections (the peer factory does). It is idempotent, and on any werift version
 * other than the pinned one it applies nothing and says why.
 */
import { reachWeriftInternals } from './reach.js';
import type { ApplyWeriftPatchesOptions, PatchReport, WeriftPatch } from './types.js';
import { installedWeriftVersion, PATCHED_WERIFT_VERSION } from './version.js';
import { sendQueuePatch } from './send-queue.js';
import { udpBuffersPatch } from './udp-buffers.js';
import { sackRetransmitPatch } from './sack-retransmit.js';
import { tsnOrderPatch } from './tsn-order.js';
import { dtlsFirstFlightPatch } from './dtls-first-flight.js';
import { sctpPacketPatch } from './sctp-packet.js';
import { sackFrequencyPatch } from './sack-frequency.js';
import { fastPathPatch } from './fast-path.js';
import { noDefaultStunPatch } from './no-default-stun.js';
import { x25519NativePatch } from './x25519-native.js';
import { iceCheckPacingPatch } from './ice-check-pacing.js';
import { hostAddressesPatch } from './host-addresses.js';
import { dtlsEarlyRecordsPatch } from './dtls-early-records.js';
import { p256NativePatch } from './p256-native.js';
import { hostBindPatch } from './host-bind.js';
import { sackBatchPatch } from './sack-batch.js';
import { maxBurstPatch } from './max-burst.js';

export { prewarmWerift } from './prewarm.js';
export type { PrewarmOptions } from './prewarm.js';
export type { ApplyWeriftPatchesOptions, PatchReport, SkippedPatch, WeriftPatch } from './types.js';

/** Every patch, in the order they are applied. */
export const WERIFT_PATCHES: readonly WeriftPatch[] = [
  sendQueuePatch,
  udpBuffersPatch,
  sackRetransmitPatch,
  tsnOrderPatch,
  dtlsFirstFlightPatch,
  sctpPacketPatch,
  sackFrequencyPatch,
  fastPathPatch,
  noDefaultStunPatch,
  x25519NativePatch,
  iceCheckPacingPatch,
  hostAddressesPatch,
  // After dtls-first-flight: it wraps the start() that patch installs.
  dtlsEarlyRecordsPatch,
  p256NativePatch,
  hostBindPatch,
  // After sack-frequency: it wraps the receiveDataChunk that patch installs and replaces its scheduleSack.
  sackBatchPatch,
  // After send-queue: its transmitOnce applies the burst limit this patch sets.
  maxBurstPatch,
];

/** The names of all patches. */
export const WERIFT_PATCH_NAMES: readonly string[] = WERIFT_PATCHES.map((p) => p.name);

// Kept on a global symbol so two copies of this module (src under vitest and dist) agree.
const APPLIED = Symbol.for('sigctl.werift-patches.applied');
type GlobalWithApplied = typeof globalThis & { [APPLIED]?: Set<string> };

function appliedSet(): Set<string> {
  const g = globalThis as GlobalWithApplied;
  g[APPLIED] ??= new Set<string>();
  return g[APPLIED];
}

/** Why patches must not be applied to `version` (undefined when it is the pinned version). */
export function weriftVersionProblem(version: string | undefined): string | undefined {
  if (version === PATCHED_WERIFT_VERSION) return undefined;
  return `werift ${version ?? '(not found)'} is installed; these patches target exactly ${PATCHED_WERIFT_VERSION}`;
}

/** Installs the werift runtime patches (idempotent). Returns what was applied and what was not. */
export function applyWeriftPatches(options: ApplyWeriftPatchesOptions = {}): PatchReport {
  const weriftVersion = installedWeriftVersion();
  const wanted = WERIFT_PATCHES.filter((p) => !options.only || options.only.includes(p.name));
  const unknown = (options.only ?? []).filter((n) => !WERIFT_PATCH_NAMES.includes(n));
  const base = { weriftVersion, targetVersion: PATCHED_WERIFT_VERSION };
  const unknownSkips = unknown.map((name) => ({ name, reason: 'no such patch' }));
  const reason = weriftVersionProblem(weriftVersion);
  if (reason !== undefined) {
    return { ...base, applied: [], alreadyApplied: [], skipped: [...wanted.map((p) => ({ name: p.name, reason })), ...unknownSkips] };
  }
  const done = appliedSet();
  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  const skipped: { name: string; reason: string }[] = [...unknownSkips];
  const internals = reachWeriftInternals();
  for (const patch of wanted) {
    if (done.has(patch.name)) {
      alreadyApplied.push(patch.name);
      continue;
    }
    try {
      patch.apply(internals);
      done.add(patch.name);
      internals.installed.add(patch.name);
      applied.push(patch.name);
    } catch (error) {
      skipped.push({ name: patch.name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { ...base, applied, alreadyApplied, skipped };
}
