/**
 * The --relay-only pre-flight: before any peer connection gathers, each UDP TURN server with
 * credentials gets one authenticated Allocate (probeTurn). werift reports a refused credential only
 * as "no relay candidate" after gathering stalls (and the answering side reports nothing at all);
 * the probe names the cause within its own bound, so both ends of a room fail with TURN_AUTH_FAILED. A TURN
 * server that does not answer at all fails the pre-flight too (NO_RELAY_CANDIDATES, after the bound).
 */
import { probeTurn } from '../stun/turn-probe.js';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import type { IceServer } from '../protocol/messages.js';

export interface TurnCheckOptions {
  /** Bound for each probe (ms, default 3000): a server silent that long counts as unreachable. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Injected for tests; defaults to probeTurn from src/stun. */
  probe?: typeof probeTurn | undefined;
}

/** The `turn:` UDP URLs (with credentials) that can be probed. */
export function probeableTurnUrls(servers: readonly IceServer[]): Array<{ url: string; username: string; credential: string }> {
  const out: Array<{ url: string; username: string; credential: string }> = [];
  for (const s of servers) {
    if (s.username === undefined || s.credential === undefined) continue;
    for (const url of Array.isArray(s.urls) ? s.urls : [s.urls]) {
      if (/^turn:[^?]+(\?transport=udp)?$/i.test(url)) out.push({ url, username: s.username, credential: s.credential });
    }
  }
  return out;
}

/** True when `servers` name a TURN URL the pre-flight cannot probe (TCP, TLS, no credentials): gathering may still use it. */
function hasUnprobeableTurn(servers: readonly IceServer[], probed: ReadonlySet<string>): boolean {
  return servers.some((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?:/i.test(u) && !(probed.has(u) && s.username !== undefined)));
}

/**
 * Resolves when at least one TURN server accepted its credentials, or when nothing could be
 * probed, or when a TURN URL the probe cannot check (TCP, TLS, no credentials) is also given:
 * gathering then has the last word. Rejects with TURN_AUTH_FAILED when every probed server failed
 * and at least one refused; with NO_RELAY_CANDIDATES when none answered at all (unreachable or
 * silent within the bound) and there is nothing else to try.
 */
export async function checkTurnCredentials(servers: readonly IceServer[], options: TurnCheckOptions = {}): Promise<void> {
  const targets = probeableTurnUrls(servers);
  if (targets.length === 0) return;
  const probe = options.probe ?? probeTurn;
  const outcomes = await Promise.all(
    targets.map((t) =>
      probe({ ...t, timeoutMs: options.timeoutMs ?? 3_000, ...(options.signal === undefined ? {} : { signal: options.signal }) }).then(
        () => undefined,
        (err: unknown) => (isSigctlError(err) ? err : new SigctlError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err })),
      ),
    ),
  );
  if (outcomes.some((o) => o === undefined)) return;
  const aborted = outcomes.find((o) => o?.code === 'ABORTED');
  if (aborted !== undefined) throw aborted;
  const refused = outcomes.find((o) => o?.code === 'TURN_AUTH_FAILED');
  if (refused !== undefined) {
    throw new SigctlError('TURN_AUTH_FAILED', `--relay-only: ${refused.message}`, { details: refused.details, cause: refused });
  }
  if (hasUnprobeableTurn(servers, new Set(targets.map((t) => t.url)))) return;
  const why = outcomes.map((o) => o?.message ?? '').join('; ');
  throw new SigctlError('NO_RELAY_CANDIDATES', `--relay-only: no TURN server is usable: ${why}`);
}
