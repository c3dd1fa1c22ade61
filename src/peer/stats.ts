/**
 * Reading what ICE chose from werift's getStats(): the selected candidate pair, its type and RTT.
 */
import type { RTCPeerConnection } from 'werift';

/** Candidate types as reported in candidate lines and stats. */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/** The selected candidate pair, classified the way operators think about it. */
export interface SelectedPair {
  /**
   * relay when either side is a TURN relay, srflx when either side is server-reflexive, host
   * otherwise (a peer-reflexive candidate on a direct path counts as host: it is how ICE learns
   * the far end's address before its candidate line arrives).
   */
  type: 'host' | 'srflx' | 'relay' | 'unknown';
  local: CandidateType | 'unknown';
  remote: CandidateType | 'unknown';
  localAddress?: string | undefined;
  remoteAddress?: string | undefined;
  /** Latest STUN round-trip time on the pair in ms, when measured. */
  rttMs?: number | undefined;
}

/** The `typ` of an SDP candidate line ("candidate:... typ host ..."), or undefined. */
export function candidateTypeOf(candidateLine: string): CandidateType | undefined {
  const m = /\btyp (host|srflx|prflx|relay)\b/.exec(candidateLine);
  return m === null ? undefined : (m[1] as CandidateType);
}

function field(stat: unknown, key: string): unknown {
  return typeof stat === 'object' && stat !== null ? (stat as Record<string, unknown>)[key] : undefined;
}

function asCandidateType(v: unknown): CandidateType | 'unknown' {
  return v === 'host' || v === 'srflx' || v === 'prflx' || v === 'relay' ? v : 'unknown';
}

/** Classifies a (local, remote) pair of candidate types. */
export function classifyPair(local: CandidateType | 'unknown', remote: CandidateType | 'unknown'): SelectedPair['type'] {
  if (local === 'unknown' && remote === 'unknown') return 'unknown';
  if (local === 'relay' || remote === 'relay') return 'relay';
  if (local === 'srflx' || remote === 'srflx') return 'srflx';
  return 'host';
}

/** The nominated (or else succeeded) candidate pair of `pc`, or undefined when there is none. */
export async function selectedPair(pc: RTCPeerConnection): Promise<SelectedPair | undefined> {
  const report = await pc.getStats();
  const all = [...report.values()] as unknown[];
  const pairs = all.filter((s) => field(s, 'type') === 'candidate-pair');
  const pair = pairs.find((p) => field(p, 'nominated') === true && field(p, 'state') === 'succeeded') ?? pairs.find((p) => field(p, 'state') === 'succeeded');
  if (pair === undefined) return undefined;
  const byId = (id: unknown): unknown => all.find((s) => field(s, 'id') === id);
  const local = byId(field(pair, 'localCandidateId'));
  const remote = byId(field(pair, 'remoteCandidateId'));
  const localType = asCandidateType(field(local, 'candidateType'));
  const remoteType = asCandidateType(field(remote, 'candidateType'));
  const rtt = field(pair, 'currentRoundTripTime');
  const addr = (c: unknown): string | undefined => {
    const a = field(c, 'address');
    const p = field(c, 'port');
    return typeof a === 'string' ? `${a}:${typeof p === 'number' ? p : '?'}` : undefined;
  };
  return {
    type: classifyPair(localType, remoteType),
    local: localType,
    remote: remoteType,
    localAddress: addr(local),
    remoteAddress: addr(remote),
    rttMs: typeof rtt === 'number' ? Math.round(rtt * 1000 * 100) / 100 : undefined,
  };
}
