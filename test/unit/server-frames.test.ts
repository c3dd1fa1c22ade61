/** Inbound frame parsing and the token bucket, without sockets. */
import { describe, expect, it } from 'vitest';
import { encodeSignal, parseClientFrame } from '../../src/server/frames.js';
import { ConnectionCounter, StrikeCounter, TokenBucket } from '../../src/server/rate-limit.js';
import { redactRequestUrl } from '../../src/server/redact.js';

describe('parseClientFrame', () => {
  it('accepts every client message type', () => {
    for (const f of [
      { type: 'join', room: 'r', name: 'n', meta: { a: 1 }, capacity: 3, resume: 't', id: 1 },
      { type: 'signal', to: 'p', data: { x: null } },
      { type: 'signal', data: 0 },
      { type: 'meta', meta: {} },
      { type: 'leave', id: 'x' },
      { type: 'ping', ts: 1.5 },
    ]) {
      expect(parseClientFrame(JSON.stringify(f))).toEqual({ ok: true, msg: f });
    }
  });

  it('classifies bad frames and keeps a valid id as re', () => {
    expect(parseClientFrame('nope')).toMatchObject({ ok: false, code: 'BAD_MESSAGE', re: undefined });
    expect(parseClientFrame('null')).toMatchObject({ ok: false, code: 'BAD_MESSAGE' });
    expect(parseClientFrame('{"type":1,"id":2}')).toMatchObject({ ok: false, code: 'BAD_MESSAGE', re: 2 });
    expect(parseClientFrame('{"type":"x","id":{"bad":1}}')).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE', re: undefined });
    expect(parseClientFrame('{"type":"toString"}')).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE' });
    expect(parseClientFrame('{"type":"signal","id":"s"}')).toMatchObject({ ok: false, code: 'BAD_MESSAGE', re: 's', message: expect.stringContaining('data') as string });
    expect(parseClientFrame('{"type":"join","room":"a b","id":5}')).toMatchObject({ ok: false, code: 'BAD_ROOM', re: 5 });
    expect(parseClientFrame('{"type":"join","room":"r","capacity":0}')).toMatchObject({ ok: false, code: 'BAD_MESSAGE' });
  });

  it('encodes a relayed signal as the schema shape', () => {
    expect(JSON.parse(encodeSignal('p1', { a: [1] }).toString())).toEqual({ type: 'signal', from: 'p1', data: { a: [1] } });
  });
});

describe('rate limiting', () => {
  it('token bucket: burst, then the refill rate', () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    t += 100; // one token at 10/s
    expect([b.take(), b.take()]).toEqual([true, false]);
    t += 10_000; // refills to the burst, not beyond
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });

  it('strike counter trips after max strikes within the window', () => {
    let t = 0;
    const s = new StrikeCounter(2, 1000, () => t);
    expect([s.strike(), s.strike(), s.strike()]).toEqual([false, false, true]);
    t += 2000;
    expect(s.strike()).toBe(false);
  });

  it('connection counter per address', () => {
    const c = new ConnectionCounter(2);
    expect([c.acquire('a'), c.acquire('a'), c.acquire('a'), c.acquire('b')]).toEqual([true, true, false, true]);
    c.release('a');
    expect(c.acquire('a')).toBe(true);
  });
});

describe('redactRequestUrl', () => {
  it('hides tokens in query strings', () => {
    expect(redactRequestUrl('/ws?token=abc.def&x=1')).toBe('/ws?token=[redacted]&x=1');
    expect(redactRequestUrl('/ws?a=1&access_token=zzz')).toBe('/ws?a=1&access_token=[redacted]');
    expect(redactRequestUrl(undefined)).toBe('');
  });
});
