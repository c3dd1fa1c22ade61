/**
 * Trickle ICE bookkeeping for one peer connection, both directions:
 *
 * - remote candidates wait until the remote description is set: werift's addIceCandidate before
 *   it "succeeds" and loses the candidate;
 * - local candidates wait until our own description has been sent: werift gathers inside
 *   setLocalDescription, so candidates exist before the offer/answer leaves, and a browser far end
 *   rejects a candidate that precedes the description;
 * - the candidate types seen on each side, for an ICE_FAILED message that says what was tried.
 *
 * One instance per werift peer connection: a recreated connection starts with a fresh one.
 */
import { candidateTypeOf } from './stats.js';

/** A remote candidate as werift's addIceCandidate takes it. */
export type CandidateInit = { candidate: string; sdpMid?: string | undefined; sdpMLineIndex?: number | undefined };

/** The candidate payload a link sends (`null` is end of candidates). */
export type OutgoingCandidate = { candidate: CandidateInit | null };

export class CandidateQueues {
  /** Types of our gathered candidates (host, srflx, relay, prflx). */
  readonly localTypes = new Set<string>();
  private pending: CandidateInit[] = [];
  private outbox: OutgoingCandidate[] | undefined = [];

  /**
   * @param remoteTypes Types of the far end's candidates; shared across recreated connections,
   *   because an ICE_FAILED after a restart should still name what the far end offered before.
   */
  constructor(private readonly remoteTypes: Set<string>) {}

  /** Notes a local candidate's type; returns it (undefined for an unparsable line). */
  noteLocal(candidateLine: string): string | undefined {
    const type = candidateTypeOf(candidateLine);
    if (type !== undefined) this.localTypes.add(type);
    return type;
  }

  /** Notes the types of the candidates embedded in a remote SDP. */
  noteRemoteSdp(sdp: string): void {
    for (const m of sdp.matchAll(/^a=(candidate:.*)$/gm)) this.noteRemote(m[1] ?? '');
  }

  /** Notes a remote candidate's type. */
  noteRemote(candidateLine: string): void {
    const type = candidateTypeOf(candidateLine);
    if (type !== undefined) this.remoteTypes.add(type);
  }

  /** Holds a remote candidate until the remote description is set. */
  hold(c: CandidateInit): void {
    this.pending.push(c);
  }

  /** The held remote candidates, in arrival order (the queue is emptied). */
  takeHeld(): CandidateInit[] {
    const held = this.pending;
    this.pending = [];
    return held;
  }

  /** Sends a local candidate now, or queues it while our description has not gone out. */
  sendOrQueue(signal: OutgoingCandidate, send: (s: OutgoingCandidate) => void): void {
    if (this.outbox !== undefined) this.outbox.push(signal);
    else send(signal);
  }

  /** Our description went out: sends the queued local candidates; later ones go at once. */
  flush(send: (s: OutgoingCandidate) => void): void {
    const queued = this.outbox ?? [];
    this.outbox = undefined;
    for (const s of queued) send(s);
  }

  /** "local host,relay, remote none": what ICE had to work with. */
  describeTried(): { text: string; local: string[]; remote: string[] } {
    const local = [...this.localTypes].sort();
    const remote = [...this.remoteTypes].sort();
    return { text: `local ${local.join(',') || 'none'}, remote ${remote.join(',') || 'none'}`, local, remote };
  }
}
