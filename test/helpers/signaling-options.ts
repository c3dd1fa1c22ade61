/**
 * Options of a short `runSignaling` for the bench tests: 20 clients in rooms of 2 at 5 signals/s
 * for 1 s, 2 load workers, no ramp, no floor, bounded by 60 s; a test overrides what it measures.
 */
import type { SignalingOptions } from '../../src/bench/signaling.js';

export function signalingOptions(over: Partial<SignalingOptions> = {}): SignalingOptions {
  return {
    clients: 20,
    roomSize: 2,
    rate: 5,
    durationS: 1,
    ramp: false,
    rampBoundMs: 1_000,
    vsFloor: false,
    workers: 2,
    env: { PATH: process.env.PATH },
    signal: AbortSignal.timeout(60_000),
    ...over,
  };
}
