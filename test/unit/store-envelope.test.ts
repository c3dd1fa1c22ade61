import { describe, expect, it } from 'vitest';
import { SigctlError } from '../../src/protocol/errors.js';
import { decodeEnvelopes, encodeEnvelopes, messageHead, messageOrigin, messageStamp } from '../../src/store/redis-envelope.js';
import type { Envelope } from '../../src/store/store.js';

const envs: Envelope[] = [
  { room: 'r', to: 'b', frame: '{"type":"signal","data":"a\\"b"}', origin: 'n1', queue: true },
  // A frame relayed as the client wrote it may hold raw newlines (JSON whitespace) and any Unicode.
  { room: 'r', except: 'a', frame: '{\n "type": "signal", "data": "é 😀 \\u2028"\n}', origin: 'n1', queue: true },
  { room: 'r', frame: '', origin: 'n1', moved: 'm' },
  { room: 'r', except: 'a', frame: '{"type":"peer-left"}', origin: 'n1', presence: { id: 'a', present: false } },
];

describe('cross-node envelope codec', () => {
  it('round-trips a batch in order, frames byte-exact, and names the origin without parsing', () => {
    const message = encodeEnvelopes('n1', envs);
    expect(messageOrigin(message)).toBe('n1');
    expect(decodeEnvelopes(message)).toEqual(envs);
  });

  it('carries a stamp (boot.seq) after the origin; a message without one has none', () => {
    const message = encodeEnvelopes('n1', envs, { boot: '0badcafe', seq: 42 });
    expect(messageOrigin(message)).toBe('n1');
    expect(messageStamp(message)).toEqual({ boot: '0badcafe', seq: 42 });
    expect(decodeEnvelopes(message)).toEqual(envs);
    expect(messageStamp(encodeEnvelopes('n1', envs))).toBeUndefined();
    expect(messageStamp('E2 n1 not-a-stamp\n')).toBeUndefined();
  });

  it('carries the nodes to skip and the room mark after the stamp; unknown options are ignored', () => {
    const message = encodeEnvelopes('n1', envs, { boot: 'ab', seq: 7 }, { skip: ['n2', 'n-3'], room: true });
    expect(message.slice(0, message.indexOf('\n'))).toBe('E2 n1 ab.7 skip:n2,n-3 room');
    expect(messageHead(message)).toEqual({ origin: 'n1', stamp: { boot: 'ab', seq: 7 }, skip: ['n2', 'n-3'], room: true });
    expect(decodeEnvelopes(message)).toEqual(envs);
    expect(messageHead(encodeEnvelopes('n1', envs, { boot: 'ab', seq: 7 }, { skip: [] }))).toEqual({ origin: 'n1', stamp: { boot: 'ab', seq: 7 }, skip: undefined, room: false });
    expect(messageHead('E2 n1 ab.7 future:x room\n')).toMatchObject({ stamp: { boot: 'ab', seq: 7 }, room: true });
    expect(messageHead('{"room":"r"}')).toBeUndefined();
  });

  it('still accepts the JSON envelope of earlier versions', () => {
    expect(decodeEnvelopes(JSON.stringify(envs[0]))).toEqual([envs[0]]);
    expect(messageOrigin(JSON.stringify(envs[0]))).toBeUndefined();
  });

  it('passes a field added by a newer node through to the hub', () => {
    const kick = { ...envs[0]!, kick: { id: 'b', reason: 'x' } } as Envelope;
    expect(decodeEnvelopes(encodeEnvelopes('n1', [kick]))[0]).toMatchObject({ kick: { id: 'b', reason: 'x' } });
  });

  it('refuses malformed messages with a catalogue code, whatever is wrong', () => {
    const good = encodeEnvelopes('n1', [envs[0]!]);
    const bad = [
      'not json',
      '[]',
      '{"room":1,"frame":"x","origin":"z"}',
      'E2 n1\n',
      good.slice(0, -3),
      good.replace(/\n(\d+) /, '\nx '),
      'E2 n1\n2 0\n[]',
      'E2 n1\n12 0\n{"room":true}',
      `${good}5 0\n{"a":`,
      // Lengths: empty, signed, too long, not ASCII digits.
      'E2 n1\n 0\n{}',
      'E2 n1\n+2 0\n{}',
      'E2 n1\n2 -0\n{}',
      'E2 n1\n0000000002 0\n{}',
      'E2 n1\n2 \u0663\n{}',
      'E2 n1\n\uff12 0\n{}',
    ];
    for (const message of bad) {
      let err: unknown;
      try {
        decodeEnvelopes(message);
      } catch (e) {
        err = e;
      }
      expect(err, message).toBeInstanceOf(SigctlError);
      expect((err as SigctlError).code, message).toBe('INTERNAL');
    }
  });
});
