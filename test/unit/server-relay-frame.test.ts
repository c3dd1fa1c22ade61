/**
 * The relay hot path without sockets: fastSignal (no result object, no copy), memberSpan (where
 * `data` lies in the received bytes) and relayFrame (the relayed frame around those bytes).
 */
import { describe, expect, it } from 'vitest';
import { SignalMessage } from '../../src/protocol/messages.js';
import { encodeSignal, fastSignal, parseClientFrame, relayFrame, signalPrefix } from '../../src/server/frames.js';
import { memberSpan } from '../../src/server/json-span.js';

/** Signal frames as clients may write them: any spacing, key order, escapes, duplicates. */
const FRAMES = [
  '{"type":"signal","data":{"s":1,"q":2,"p":1,"t":12345.678}}',
  '{"type":"signal","to":"p1","data":{"type":"offer","sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n"},"id":7}',
  '{"data":[1,"]}\\"{[",{"a":{"b":[]}}],"type":"signal"}',
  ' { "type" : "signal" , "data" : { "x" : [ 1 , 2 ] } } ',
  '{\n\t"type": "signal",\r\n\t"data": "just a string with a \\" quote and a \\\\ backslash"\n}',
  '{"type":"signal","data":null}',
  '{"type":"signal","data":0}',
  '{"type":"signal","data":-1.5e-3}',
  '{"type":"signal","data":true,"id":"x"}',
  '{"type":"signal","data":false}',
  '{"type":"signal","data":""}',
  '{"type":"signal","data":{}}',
  '{"type":"signal","data":[]}',
  '{"type":"signal","data":"ünïcødé 🎉 \\u00e9 \\ud83c\\udf89"}',
  '{"type":"signal","data":{"ключ":"значение","emoji":"🎉"}}',
  '{"type":"signal","data":1,"data":{"last":"wins"}}',
  '{"type":"signal","d\\u0061ta":{"escaped":"key"}}',
  '{"type":"signal","data":{"data":"nested data key"},"id":1}',
  '{"datum":1,"type":"signal","data":2}',
  '{"type":"signal","data":"\\\\"}',
  '{"type":"signal","data":{"a":"\\\\\\""}}',
  '{"type":"signal","data":12345678901234567890123}',
];

describe('memberSpan', () => {
  it('finds the bytes JSON.parse reads as data, in every spelling', () => {
    for (const text of FRAMES) {
      const buf = Buffer.from(text);
      const span = memberSpan(buf, 'data');
      expect(span, text).toBeDefined();
      const raw = buf.subarray(span!.start, span!.end).toString();
      expect(JSON.parse(raw), text).toEqual((JSON.parse(text) as { data: unknown }).data);
    }
  });

  it('is undefined when the key is absent', () => {
    expect(memberSpan(Buffer.from('{"type":"signal"}'), 'data')).toBeUndefined();
    expect(memberSpan(Buffer.from('{}'), 'data')).toBeUndefined();
    expect(memberSpan(Buffer.from('{"datas":1,"dat":2}'), 'data')).toBeUndefined();
  });
});

describe('relayFrame', () => {
  it('is the frame encodeSignal would send, as the recipient parses it', () => {
    for (const from of ['p1', 'A-b_c9', 'ünï"cødé']) {
      const prefix = signalPrefix(from);
      for (const text of FRAMES) {
        const parsed = JSON.parse(text) as { data: unknown };
        const frame = relayFrame(prefix, Buffer.byteLength(prefix), Buffer.from(text), parsed.data);
        const got: unknown = JSON.parse(frame.toString('utf8'));
        expect(got, text).toEqual(JSON.parse(encodeSignal(from, parsed.data)));
        expect(Object.keys(got as object)).toEqual(['type', 'from', 'data']);
      }
    }
  });

  it('keeps the sender\'s number text (no precision lost by re-encoding)', () => {
    const prefix = signalPrefix('p');
    const text = '{"type":"signal","data":{"n":12345678901234567890123}}';
    const frame = relayFrame(prefix, Buffer.byteLength(prefix), Buffer.from(text), undefined);
    expect(frame.toString()).toBe('{"type":"signal","from":"p","data":{"n":12345678901234567890123}}');
  });
});

describe('fastSignal', () => {
  it('returns the parsed frame itself when the schema would accept it unchanged', () => {
    for (const text of FRAMES) {
      const value: unknown = JSON.parse(text);
      const fast = fastSignal(value);
      const schema = SignalMessage.safeParse(value);
      if (fast !== undefined) {
        expect(fast).toBe(value);
        expect(schema.success, text).toBe(true);
        expect(fast).toEqual(schema.data);
      }
    }
  });

  it('declines anything that is not a plain signal, and the full parse decides', () => {
    for (const value of [null, 1, 'signal', [], { type: 'ping' }, { type: 'signal' }, { type: 'signal', data: 1, from: 'spoof' }, { type: 'signal', data: 1, to: '' }]) {
      expect(fastSignal(value), JSON.stringify(value)).toBeUndefined();
    }
    // The schema strips the spoofed `from`; the relayed frame's `from` is set by the server.
    expect(parseClientFrame('{"type":"signal","data":1,"from":"spoof"}')).toEqual({ ok: true, msg: { type: 'signal', data: 1 } });
  });
});
