/**
 * Signal payload dialects: what the `data` of a signal looks like. `sigctl peer` speaks its own
 * (the W3C perfect-negotiation shape) and understands the shapes that browser apps written for
 * other servers send, answering each peer in the dialect it was spoken to (docs/peer.md):
 *
 *   sigctl  {"description":{"type":"offer","sdp"}}       {"candidate":{"candidate","sdpMid","sdpMLineIndex"}|null}
 *   seed    {"type":"OFFER"|"ANSWER","sdp","sid"?}        {"type":"CANDIDATE","candidate":{...},"sid"?}
 *           (Spring STOMP apps; READY and LEAVE are control messages, not negotiation)
 *   plain   {"type":"offer"|"answer","sdp"}               {"candidate":"candidate:...","sdpMid","sdpMLineIndex"}
 *           (an RTCSessionDescriptionInit / RTCIceCandidateInit sent as it is)
 */
import { z } from 'zod';
import { SignalPayload } from '../protocol/messages.js';
import type { Dialect, OutgoingSignal } from './link-types.js';

export type { Dialect } from './link-types.js';

export const DIALECTS: readonly Dialect[] = ['sigctl', 'seed', 'plain'];

const Sdp = z.string().max(256 * 1024);
const CandidateInit = z.object({
  candidate: z.string().max(1024),
  sdpMid: z.string().nullable().optional(),
  sdpMLineIndex: z.number().int().nonnegative().nullable().optional(),
});

const SeedDescription = z.object({
  type: z.enum(['OFFER', 'ANSWER']),
  sdp: z.union([Sdp, z.object({ type: z.string(), sdp: Sdp })]),
});
const SeedCandidate = z.object({ type: z.literal('CANDIDATE'), candidate: CandidateInit.nullable() });
const SeedControl = z.object({ type: z.enum(['READY', 'LEAVE', 'JOIN', 'BYE']) });
const PlainDescription = z.object({ type: z.enum(['offer', 'answer']), sdp: Sdp });
const PlainCandidate = CandidateInit;

/** What a received payload means: negotiation in some dialect, a control message to ignore, or nothing known. */
export type Decoded = { kind: 'signal'; payload: SignalPayload; dialect: Dialect } | { kind: 'control' } | { kind: 'invalid'; reason: string };

/** Reads `data` in whichever dialect it is written. */
export function decodeSignal(data: unknown): Decoded {
  // sigctl's payloads have no `type`; the other dialects always do. Without this test a seed
  // CANDIDATE ({"type","candidate":{...}}) would also pass for a sigctl candidate (zod objects
  // allow extra keys), and the answer would go out in the wrong dialect.
  const typed = typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string';
  const own = SignalPayload.safeParse(data);
  if (own.success && !typed) return { kind: 'signal', payload: own.data, dialect: 'sigctl' };
  const seed = SeedDescription.safeParse(data);
  if (seed.success) {
    const sdp = typeof seed.data.sdp === 'string' ? seed.data.sdp : seed.data.sdp.sdp;
    return { kind: 'signal', payload: { description: { type: seed.data.type === 'OFFER' ? 'offer' : 'answer', sdp } }, dialect: 'seed' };
  }
  const seedCandidate = SeedCandidate.safeParse(data);
  if (seedCandidate.success) return { kind: 'signal', payload: { candidate: seedCandidate.data.candidate }, dialect: 'seed' };
  if (SeedControl.safeParse(data).success) return { kind: 'control' };
  const plain = PlainDescription.safeParse(data);
  if (plain.success) return { kind: 'signal', payload: { description: plain.data }, dialect: 'plain' };
  const plainCandidate = PlainCandidate.safeParse(data);
  if (plainCandidate.success) return { kind: 'signal', payload: { candidate: plainCandidate.data }, dialect: 'plain' };
  return { kind: 'invalid', reason: own.success ? `unknown signal type ${JSON.stringify((data as { type: string }).type).slice(0, 40)}` : (own.error.issues[0]?.message ?? 'not a description or candidate in any known dialect') };
}

/**
 * `signal` written in `dialect`, or undefined when that dialect has no form for it (the end of
 * candidates, which only sigctl's dialect sends). `sid` is the sender's member id (seed dialect).
 */
export function encodeSignal(signal: OutgoingSignal, dialect: Dialect, sid: string): unknown {
  if (dialect === 'sigctl') return signal;
  if ('description' in signal) {
    const { type, sdp } = signal.description;
    return dialect === 'seed' ? { type: type === 'offer' ? 'OFFER' : 'ANSWER', sid, sdp } : { type, sdp };
  }
  if (signal.candidate === null) return undefined;
  return dialect === 'seed' ? { type: 'CANDIDATE', sid, candidate: signal.candidate } : signal.candidate;
}
