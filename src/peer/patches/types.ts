/**
 * The types every patch module and the patch registry share. They live here, below both, so that
 * `index.ts` (which lists the patches) and each patch (which implements WeriftPatch) do not import
 * each other.
 */
import type { WeriftInternals } from './reach.js';

/** One runtime patch: a name, what it fixes, and how to install it. */
export interface WeriftPatch {
  readonly name: string;
  readonly summary: string;
  apply(internals: WeriftInternals): void;
}

/** A patch that was not installed, and why. */
export interface SkippedPatch {
  readonly name: string;
  readonly reason: string;
}

/** What applyWeriftPatches() did. */
export interface PatchReport {
  /** The werift version found, or undefined if it could not be determined. */
  readonly weriftVersion: string | undefined;
  /** The version the patches target. */
  readonly targetVersion: string;
  /** Patches installed by this call. */
  readonly applied: readonly string[];
  /** Patches that were already installed (earlier call). */
  readonly alreadyApplied: readonly string[];
  /** Patches not installed, with the reason. */
  readonly skipped: readonly SkippedPatch[];
}

/** Options for applyWeriftPatches(); the default applies every patch. */
export interface ApplyWeriftPatchesOptions {
  /** Apply only these patches (by name); used by the measurement scripts to isolate one patch. */
  readonly only?: readonly string[];
}
