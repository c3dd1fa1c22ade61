import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/client/backoff.js';
import { canTransition, type ClientState } from '../../src/client/state.js';

describe('backoffDelay (exponential, equal jitter)', () => {
  const opts = { baseMs: 100, capMs: 1_000, maxAttempts: 8 };

  it('keeps half of the capped exponential delay and randomises the other half', () => {
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(0, opts, () => 0.999999)).toBe(100);
    expect(backoffDelay(1, opts, () => 0)).toBe(100);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(300);
  });

  it('never exceeds the cap, however many attempts', () => {
    for (let attempt = 0; attempt < 60; attempt++) {
      const d = backoffDelay(attempt, opts, () => 0.999999);
      expect(d).toBeLessThanOrEqual(1_000);
      expect(d).toBeGreaterThanOrEqual(50);
    }
    expect(backoffDelay(40, opts, () => 0)).toBe(500);
  });

  it('clamps a misbehaving random source into [0, 1]', () => {
    expect(backoffDelay(0, opts, () => -5)).toBe(50);
    expect(backoffDelay(0, opts, () => 7)).toBe(100);
  });

  it('has documented defaults', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 250, capMs: 10_000, maxAttempts: 8 });
  });
});

describe('client state machine', () => {
  it('allows the documented transitions only', () => {
    const ok: Array<[ClientState, ClientState]> = [
      ['idle', 'connecting'],
      ['connecting', 'connected'],
      ['connected', 'joined'],
      ['joined', 'connected'],
      ['joined', 'reconnecting'],
      ['reconnecting', 'connecting'],
      ['connecting', 'reconnecting'],
      ['reconnecting', 'closed'],
    ];
    for (const [from, to] of ok) expect(canTransition(from, to), `${from} -> ${to}`).toBe(true);
    const bad: Array<[ClientState, ClientState]> = [
      ['closed', 'connecting'],
      ['closed', 'reconnecting'],
      ['idle', 'joined'],
      ['reconnecting', 'joined'],
    ];
    for (const [from, to] of bad) expect(canTransition(from, to), `${from} -> ${to}`).toBe(false);
  });
});
