/**
 * The connection panel's figures from RTCPeerConnection.getStats(): the selected candidate pair's
 * type (host / srflx / relay, named as `sigctl peer` names it: relay if either side is relayed,
 * srflx if either is reflexive), its RTT, bitrate in and out over the last sample, packets lost.
 */

/** One sample for the panel. */
export interface PeerStats {
  pair: string;
  rttMs: number | undefined;
  inKbps: number | undefined;
  outKbps: number | undefined;
  packetsLost: number;
}

type Report = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function pairType(local: string | undefined, remote: string | undefined): string {
  const types = [local, remote];
  if (types.includes('relay')) return 'relay';
  if (types.includes('srflx') || types.includes('prflx')) return 'srflx';
  return local === undefined ? '-' : 'host';
}

/** Samples one peer connection; keeps the last byte counts to compute rates. */
export class StatsSampler {
  private last: { at: number; rx: number; tx: number } | undefined;

  async sample(pc: RTCPeerConnection): Promise<PeerStats> {
    const byId = new Map<string, Report>();
    (await pc.getStats()).forEach((r: Report) => byId.set(String(r.id), r));
    let pair: Report | undefined;
    let lost = 0;
    for (const r of byId.values()) {
      if (r.type === 'transport' && typeof r.selectedCandidatePairId === 'string') pair = byId.get(r.selectedCandidatePairId) ?? pair;
      if (r.type === 'inbound-rtp') lost += num(r.packetsLost) ?? 0;
    }
    pair ??= [...byId.values()].find((r) => r.type === 'candidate-pair' && r.nominated === true && r.state === 'succeeded');
    const local = pair === undefined ? undefined : byId.get(String(pair.localCandidateId));
    const remote = pair === undefined ? undefined : byId.get(String(pair.remoteCandidateId));
    const rtt = num(pair?.currentRoundTripTime);
    const rx = num(pair?.bytesReceived) ?? 0;
    const tx = num(pair?.bytesSent) ?? 0;
    const now = performance.now();
    let inKbps: number | undefined;
    let outKbps: number | undefined;
    if (this.last !== undefined && now > this.last.at) {
      const s = (now - this.last.at) / 1000;
      inKbps = Math.max(0, ((rx - this.last.rx) * 8) / 1000 / s);
      outKbps = Math.max(0, ((tx - this.last.tx) * 8) / 1000 / s);
    }
    this.last = { at: now, rx, tx };
    return {
      pair: pairType(typeof local?.candidateType === 'string' ? local.candidateType : undefined, typeof remote?.candidateType === 'string' ? remote.candidateType : undefined),
      rttMs: rtt === undefined ? undefined : rtt * 1000,
      inKbps,
      outKbps,
      packetsLost: lost,
    };
  }
}
