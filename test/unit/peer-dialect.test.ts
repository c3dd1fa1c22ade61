/**
 * Signal payload dialects (src/peer/dialect.ts): each shape is read as its own dialect, so that
 * `sigctl peer` answers in the dialect it was spoken to, and written back in that dialect.
 */
import { describe, expect, it } from 'vitest';
import { decodeSignal, encodeSignal } from '../../src/peer/dialect.js';

const cand = { candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe('decodeSignal', () => {
  it('reads each dialect as itself, a seed CANDIDATE included (it also fits sigctl\'s loose shape)', () => {
    expect(decodeSignal({ description: { type: 'offer', sdp: 'v=0' } })).toMatchObject({ kind: 'signal', dialect: 'sigctl' });
    expect(decodeSignal({ candidate: cand })).toMatchObject({ kind: 'signal', dialect: 'sigctl' });
    expect(decodeSignal({ candidate: null })).toMatchObject({ kind: 'signal', dialect: 'sigctl', payload: { candidate: null } });
    expect(decodeSignal({ type: 'OFFER', sid: 'a', sdp: 'v=0' })).toEqual({ kind: 'signal', dialect: 'seed', payload: { description: { type: 'offer', sdp: 'v=0' } } });
    expect(decodeSignal({ type: 'ANSWER', sdp: { type: 'answer', sdp: 'v=0' } })).toEqual({ kind: 'signal', dialect: 'seed', payload: { description: { type: 'answer', sdp: 'v=0' } } });
    expect(decodeSignal({ type: 'CANDIDATE', sid: 'a', candidate: { ...cand, usernameFragment: 'u' } })).toEqual({ kind: 'signal', dialect: 'seed', payload: { candidate: cand } });
    expect(decodeSignal({ type: 'offer', sdp: 'v=0' })).toEqual({ kind: 'signal', dialect: 'plain', payload: { description: { type: 'offer', sdp: 'v=0' } } });
    expect(decodeSignal(cand)).toEqual({ kind: 'signal', dialect: 'plain', payload: { candidate: cand } });
  });

  it('ignores the seed apps\' control messages and refuses the rest', () => {
    expect(decodeSignal({ type: 'READY' })).toEqual({ kind: 'control' });
    expect(decodeSignal({ type: 'LEAVE', sid: 'a' })).toEqual({ kind: 'control' });
    expect(decodeSignal({ type: 'WHATEVER', candidate: cand })).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('WHATEVER') as unknown });
    expect(decodeSignal('hello')).toMatchObject({ kind: 'invalid' });
  });
});

describe('encodeSignal', () => {
  it('writes descriptions and candidates in each dialect; the end of candidates only in sigctl\'s', () => {
    const offer = { description: { type: 'offer' as const, sdp: 'v=0' } };
    expect(encodeSignal(offer, 'sigctl', 'me')).toEqual(offer);
    expect(encodeSignal(offer, 'seed', 'me')).toEqual({ type: 'OFFER', sid: 'me', sdp: 'v=0' });
    expect(encodeSignal(offer, 'plain', 'me')).toEqual({ type: 'offer', sdp: 'v=0' });
    expect(encodeSignal({ candidate: cand }, 'seed', 'me')).toEqual({ type: 'CANDIDATE', sid: 'me', candidate: cand });
    expect(encodeSignal({ candidate: cand }, 'plain', 'me')).toEqual(cand);
    expect(encodeSignal({ candidate: null }, 'seed', 'me')).toBeUndefined();
    expect(encodeSignal({ candidate: null }, 'sigctl', 'me')).toEqual({ candidate: null });
  });
});
