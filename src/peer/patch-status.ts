/**
 * What the werift runtime patches did in this process, as the peer reports it (`sigctl peer --json`,
 * the bench report) and warns about. Free of werift, so the session and renderers can use it
 * without loading werift; werift-factory.ts makes the status from the patch registry's report.
 */
import type { SkippedPatch } from './patches/types.js';

export type { SkippedPatch } from './patches/types.js';

/** Which runtime patches a werift process runs with. */
export interface WeriftPatchStatus {
  /** The werift version found (undefined when it could not be read). */
  readonly weriftVersion: string | undefined;
  /** The version the patches are written for. */
  readonly targetVersion: string;
  /** Installed in this process (by this module or an earlier copy of it), in the order they apply. */
  readonly applied: readonly string[];
  /** Not installed, each with its reason. */
  readonly skipped: readonly SkippedPatch[];
}

/** The warning for a status with skipped patches (grouped by reason), or undefined when none was skipped. */
export function skippedPatchesWarning(status: Pick<WeriftPatchStatus, 'skipped'>): string | undefined {
  if (status.skipped.length === 0) return undefined;
  const byReason = new Map<string, string[]>();
  for (const { name, reason } of status.skipped) byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
  const parts = [...byReason].map(([reason, names]) => `${names.join(', ')} (${reason})`);
  return `${status.skipped.length} werift runtime patch(es) not applied, werift runs without them: ${parts.join('; ')}`;
}
