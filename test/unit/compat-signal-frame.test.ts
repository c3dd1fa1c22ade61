/** signalSpan finds `from` and `data` in the frames the hub relays, as bytes, and nothing else. */
import { describe, expect, it } from 'vitest';
import { signalSpan, spanData } from '../../src/server/compat/signal-frame.js';
import { encodeSignal, relayFrame, signalPrefix } from '../../src/server/frames.js';

describe('signalSpan', () => {
  it('finds from and data in a relayed frame (a Buffer around the sender bytes) and in an encoded one (a string)', () => {
    const sent = Buffer.from('{"type":"signal","to":"x","data":{"sdp":"é 😀","n":[1,{"a":null}]}}');
    const start = sent.indexOf('{"sdp"');
    const prefix = signalPrefix('AbC-_9');
    const relayed = relayFrame(prefix, Buffer.byteLength(prefix), sent, start, sent.length - 1);
    const span = signalSpan(relayed)!;
    expect(span.from).toBe('AbC-_9');
    expect(span.bytes).toBe(relayed);
    expect(spanData(span)).toBe('{"sdp":"é 😀","n":[1,{"a":null}]}');

    const encoded = signalSpan(encodeSignal('m1', 'text "quoted"'))!;
    expect(encoded.from).toBe('m1');
    expect(spanData(encoded)).toBe('"text \\"quoted\\""');
  });

  it('is undefined for every other frame', () => {
    for (const frame of ['{"type":"peer-joined","peer":{"id":"a"}}', '{"type":"signal","from":"a"}', '{"type":"signal","from":"a","data":1', '', Buffer.from('{"type":"signal"')]) {
      expect(signalSpan(frame)).toBeUndefined();
    }
  });
});
