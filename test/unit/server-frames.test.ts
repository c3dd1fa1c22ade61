/** Inbound frame parsing and the token bucket, without sockets. */
import { describe, expect, it } from 'vitest';
import { SignalMessage } from '../../src/protocol/messages.js';
import { encodeSignal, parseClientFrame, plainSignal } from '../../src/server/frames.js';
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

  it('the signal fast path never accepts what SignalMessage refuses, and agrees when it accepts', () => {
    const corpus: Array<Record<string, unknown>> = [
      { type: 'signal', data: 1 },
      { type: 'signal', data: null },
      { type: 'signal', data: { a: [1, { b: 'c' }] }, to: 'p1', id: 'x' },
      { type: 'signal', data: 'x', id: 3.5 },
      { type: 'signal' },
      { type: 'signal', data: 1, to: '' },
      { type: 'signal', data: 1, to: 'x'.repeat(65) },
      { type: 'signal', data: 1, to: 'x'.repeat(64) },
      { type: 'signal', data: 1, to: 5 },
      { type: 'signal', data: 1, id: 'i'.repeat(129) },
      { type: 'signal', data: 1, id: 'i'.repeat(128) },
      { type: 'signal', data: 1, id: {} },
      { type: 'signal', data: 1, id: Infinity },
      { type: 'signal', data: 1, from: 'spoof' },
      { type: 'signal', data: 1, extra: true },
    ];
    for (const obj of corpus) {
      const fast = plainSignal(obj);
      const schema = SignalMessage.safeParse(obj);
      if (fast !== undefined) {
        expect(schema.success, JSON.stringify(obj)).toBe(true);
        expect(fast).toEqual(schema.data);
      }
      // Whatever the fast path declines, the full parse decides exactly as the schema does.
      const text = JSON.stringify(obj);
      const onWire = SignalMessage.safeParse(JSON.parse(text));
      const full = parseClientFrame(text);
      expect(full.ok, text).toBe(onWire.success);
      if (full.ok) expect(full.msg).toEqual(onWire.data);
    }
  });

  it('encodes a relayed signal as the schema shape', () => {
    expect(JSON.parse(encodeSignal('p1', { a: [1] }))).toEqual({ type: 'signal', from: 'p1', data: { a: [1] } });
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

  it('matches the decoded parameter name, as the token lookup reads it', () => {
    expect(redactRequestUrl('/ws?tok%65n=abc')).toBe('/ws?tok%65n=[redacted]');
    expect(redactRequestUrl('/ws?%74%6F%6B%65%6E=abc&x=%zz')).toBe('/ws?%74%6F%6B%65%6E=[redacted]&x=%zz');
    expect(redactRequestUrl('/ws?x=1&TOKEN=abc&access%5Ftoken=def&jwt=ghi')).toBe('/ws?x=1&TOKEN=[redacted]&access%5Ftoken=[redacted]&jwt=[redacted]');
    expect(redactRequestUrl('/ws?token')).toBe('/ws?token=[redacted]');
    expect(redactRequestUrl('/ws#token=abc')).toBe('/ws#[redacted]');
    expect(redactRequestUrl('/ws?a=1#token=abc')).toBe('/ws?a=1#[redacted]');
  });
});
