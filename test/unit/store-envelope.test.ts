import { describe, expect, it } from 'vitest';
import { SigctlError } from '../../src/protocol/errors.js';
import { decodeEnvelopes, encodeEnvelopes, EnvelopeSchema, messageHead, messageOrigin, messageStamp } from '../../src/store/redis-envelope.js';
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

  it('reads a first line as the regular-expression reading it replaced did, on any mix of fields', () => {
    // The earlier messageHead, kept as the reference.
    const reference = (message: string): unknown => {
      if (!message.startsWith('E2 ')) return undefined;
      const nl = message.indexOf('\n', 3);
      if (nl < 0) return undefined;
      const fields = message.slice(3, nl).split(' ');
      const m = fields.length > 1 ? /^([0-9a-f]{1,32})\.(\d{1,15})$/.exec(fields[1]!) : null;
      let skip: string[] | undefined;
      let room = false;
      for (let i = 2; i < fields.length; i++) {
        const f = fields[i]!;
        if (f.startsWith('skip:')) skip = f.slice(5).split(',');
        else if (f === 'room') room = true;
      }
      return { origin: fields[0]!, stamp: m === null ? undefined : { boot: m[1]!, seq: Number(m[2]) }, skip, room };
    };
    const tokens = ['n1', 'node-2.a', '', 'ab.7', '0badcafe.42', 'f'.repeat(32) + '.1', 'f'.repeat(33) + '.1', 'AB.7', 'ab.', '.7', 'ab.7.1', 'ab.1234567890123456', 'ab.123456789012345', 'ab.0x1', 'skip:n2,n-3', 'skip:', 'skip', 'room', 'rooms', 'xroom', 'future:x'];
    let seed = 17;
    const rand = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
    const lines = ['E2 ', 'E2 n1', 'E2 n1\n', 'E2\n', 'X2 n1 ab.7\n'];
    for (let i = 0; i < 3_000; i++) {
      const n = 1 + rand(5);
      lines.push(`E2 ${Array.from({ length: n }, () => tokens[rand(tokens.length)]).join(' ')}\n${rand(2) === 0 ? '' : '2 0\n{}'}`);
    }
    for (const line of lines) expect(messageHead(line), JSON.stringify(line)).toEqual(reference(line));
  });

  it('takes a header of the common shape as the schema would, and leaves every other one to the schema', () => {
    const values: unknown[] = ['r', '', 'é', 1, true, false, null, [], {}, { id: 'a', present: true }, { kick: 'b' }];
    const keys = ['room', 'to', 'except', 'queue', 'moved', 'handedOver', 'presence', 'control', 'extra', '__proto__', 'frame', 'origin'];
    let seed = 5;
    const rand = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
    for (let i = 0; i < 3_000; i++) {
      const fields: string[] = [];
      const n = rand(6);
      const used = new Set<string>();
      if (rand(4) > 0) fields.push('"room":"r"');
      for (let k = 0; k < n; k++) {
        const key = keys[rand(keys.length)]!;
        if (used.has(key)) continue;
        used.add(key);
        fields.push(`${JSON.stringify(key)}:${JSON.stringify(values[rand(values.length)])}`);
      }
      const header = `{${fields.join(',')}}`;
      const frame = '{"type":"signal"}';
      const message = `E2 n1\n${header.length} ${frame.length}\n${header}${frame}`;
      // What the schema makes of the same object (the codec completes the header with origin and frame).
      const completed = { ...(JSON.parse(header) as Record<string, unknown>), origin: 'n1', frame };
      const expected = EnvelopeSchema.safeParse(completed);
      let got: unknown;
      try {
        got = decodeEnvelopes(message)[0];
      } catch (err) {
        got = err;
      }
      if (expected.success) expect(got, header).toEqual(expected.data);
      else expect(got, header).toBeInstanceOf(SigctlError);
    }
  });
});

