/**
 * The relay hot path without sockets: scanSignal (one-pass validation of a signal frame) must only
 * accept what JSON.parse plus the SignalMessage schema accept, with the same to, id and data; and
 * relayFrame must build the frame a recipient parses as { type, from, data }.
 */
import { describe, expect, it } from 'vitest';
import { SignalMessage } from '../../src/protocol/messages.js';
import { encodeSignal, parseClientFrame, relayFrame, signalPrefix } from '../../src/server/frames.js';
import { isSignalData, scanSignal } from '../../src/server/signal-scan.js';

/** Signal frames as clients may write them: any spacing, key order, escapes, duplicates. */
const FRAMES = [
  '{"type":"signal","data":{"s":1,"q":2,"p":1,"t":12345.678}}',
  '{"type":"signal","to":"p1","data":{"type":"offer","sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n"},"id":7}',
  '{"data":[1,"]}\\"{[",{"a":{"b":[]}}],"type":"signal"}',
  ' { "type" : "signal" , "data" : { "x" : [ 1 , 2 ] } } ',
  '{\n\t"type": "signal",\r\n\t"data": "a \\" quote, a \\\\ backslash, \\/ \\b\\f\\n\\r\\t \\u00e9"\n}',
  '{"type":"signal","data":null}',
  '{"type":"signal","data":0}',
  '{"type":"signal","data":-0}',
  '{"type":"signal","data":-1.5e-3}',
  '{"type":"signal","data":1E+2}',
  '{"type":"signal","data":true,"id":"x"}',
  '{"type":"signal","data":false,"id":-2.5e3}',
  // Integer ids: summed digit by digit up to 15 digits, through Number() beyond; -0 stays -0.
  '{"type":"signal","data":0,"id":0}',
  '{"type":"signal","data":0,"id":-0}',
  '{"type":"signal","data":0,"id":-17}',
  '{"type":"signal","data":0,"id":999999999999999}',
  '{"type":"signal","data":0,"id":-999999999999999}',
  '{"type":"signal","data":0,"id":9007199254740993}',
  '{"type":"signal","data":0,"id":12345678901234567890}',
  '{"type":"signal","data":0,"id":10.5}',
  '{"type":"signal","data":"","id":""}',
  '{"type":"signal","data":{}}',
  '{"type":"signal","data":[]}',
  '{"type":"signal","data":[[[[{"deep":[{}]}]]]]}',
  '{"type":"signal","data":"ünïcødé 🎉 \\ud83c\\udf89 \\ud800"}',
  '{"type":"signal","data":{"ключ":"значение","emoji":"🎉"}}',
  '{"type":"signal","data":{"data":"nested data key","type":"x"},"id":1}',
  '{"type":"signal","data":12345678901234567890123}',
  `{"type":"signal","to":"${'x'.repeat(64)}","id":"${'i'.repeat(128)}","data":1}`,
];

/** Frames the scanner must leave to the full path (invalid, or not a plain signal). */
const DECLINED = [
  '',
  ' ',
  'null',
  '[]',
  '"signal"',
  '{}',
  '{"type":"signal"}',
  '{"data":1}',
  '{"type":"ping","data":1}',
  '{"type":"Signal","data":1}',
  '{"type":"signal","data":1,"data":2}',
  '{"type":"signal","type":"signal","data":1}',
  '{"type":"signal","d\\u0061ta":1}',
  '{"type":"sign\\u0061l","data":1}',
  '{"type":"signal","data":1,"from":"spoof"}',
  '{"type":"signal","data":1,"extra":true}',
  '{"type":"signal","data":1,"to":""}',
  `{"type":"signal","data":1,"to":"${'x'.repeat(65)}"}`,
  '{"type":"signal","data":1,"to":5}',
  '{"type":"signal","data":1,"to":"\\u0070"}',
  '{"type":"signal","data":1,"to":"ü"}',
  `{"type":"signal","data":1,"id":"${'i'.repeat(129)}"}`,
  '{"type":"signal","data":1,"id":{}}',
  '{"type":"signal","data":1,"id":null}',
  '{"type":"signal","data":1,"id":1e400}',
  '{"type":"signal","data":1,}',
  '{"type":"signal","data":1',
  '{"type":"signal","data":1}}',
  '{"type":"signal","data":1} x',
  '{"type":"signal","data":01}',
  '{"type":"signal","data":1.}',
  '{"type":"signal","data":.5}',
  '{"type":"signal","data":+1}',
  '{"type":"signal","data":1e}',
  '{"type":"signal","data":-}',
  '{"type":"signal","data":NaN}',
  '{"type":"signal","data":tru}',
  '{"type":"signal","data":nulls}',
  '{"type":"signal","data":[1,]}',
  '{"type":"signal","data":[1 2]}',
  '{"type":"signal","data":{"a":1,}}',
  '{"type":"signal","data":{"a" 1}}',
  '{"type":"signal","data":{a:1}}',
  "{'type':'signal','data':1}",
  '{"type":"signal","data":"unterminated}',
  '{"type":"signal","data":"bad \\x escape"}',
  '{"type":"signal","data":"bad \\u12 escape"}',
  '{"type":"signal","data":"raw \n newline"}',
  '{"type":"signal","data":"raw \t tab"}',
  '{"type":"signal","data":' + '['.repeat(100) + ']'.repeat(100) + '}',
];

/** What the full path (JSON.parse + SignalMessage) makes of a frame: the message, or undefined. */
function reference(text: string): SignalMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = SignalMessage.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function scannedMessage(text: string): SignalMessage | undefined {
  const buf = Buffer.from(text);
  const s = scanSignal(buf);
  if (s === undefined) return undefined;
  const msg: SignalMessage = { type: 'signal', data: JSON.parse(buf.subarray(s.dataStart, s.dataEnd).toString()) as SignalMessage['data'] };
  if (s.to !== undefined) msg.to = s.to;
  if (s.id !== undefined) msg.id = s.id;
  return msg;
}

describe('scanSignal', () => {
  it('accepts plain signals in every spelling, with what JSON.parse and the schema make of them', () => {
    for (const text of FRAMES) {
      const want = reference(text);
      expect(want, text).toBeDefined();
      expect(scannedMessage(text), text).toEqual(want);
    }
  });

  it('declines invalid JSON and anything that is not a plain signal', () => {
    for (const text of DECLINED) expect(scanSignal(Buffer.from(text)), text).toBeUndefined();
  });

  it('never accepts what the full path refuses, nor reads it differently (mutation fuzz)', () => {
    // Deterministic: every single-byte deletion, duplication and replacement of every frame.
    const alphabet = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '1', '-', '.', 'e', 'u', 'a', 't', 'n', '\n', '\u0001'];
    let accepted = 0;
    for (const text of [...FRAMES, ...DECLINED]) {
      const variants: string[] = [];
      for (let i = 0; i < text.length; i++) {
        variants.push(text.slice(0, i) + text.slice(i + 1), text.slice(0, i) + text[i]! + text.slice(i));
        for (const ch of alphabet) variants.push(text.slice(0, i) + ch + text.slice(i + 1));
      }
      for (const v of variants) {
        if (!Buffer.from(v).toString().includes('\ufffd') && Buffer.from(Buffer.from(v).toString()).equals(Buffer.from(v))) {
          const got = scannedMessage(v);
          if (got === undefined) continue;
          accepted++;
          expect(got, v).toEqual(reference(v));
        }
      }
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe('relayFrame', () => {
  it('is the frame encodeSignal would send, as the recipient parses it', () => {
    for (const from of ['p1', 'A-b_c9', 'ünï"cødé']) {
      const prefix = signalPrefix(from);
      for (const text of FRAMES) {
        const buf = Buffer.from(text);
        const s = scanSignal(buf)!;
        const frame = relayFrame(prefix, Buffer.byteLength(prefix), buf, s.dataStart, s.dataEnd);
        const got: unknown = JSON.parse(frame.toString('utf8'));
        // What the sender's frame said, exactly (-0 and long numbers included, which a
        // re-encoding would change); otherwise the same as the encoded frame.
        expect(got, text).toEqual({ type: 'signal', from, data: reference(text)!.data });
        if (!text.includes('-0}') && !text.includes('123}')) expect(got, text).toEqual(JSON.parse(encodeSignal(from, reference(text)!.data)));
        expect(Object.keys(got as object)).toEqual(['type', 'from', 'data']);
      }
    }
  });

  it("keeps the sender's number text (no precision lost by re-encoding)", () => {
    const prefix = signalPrefix('p');
    const buf = Buffer.from('{"type":"signal","data":{"n":12345678901234567890123}}');
    const s = scanSignal(buf)!;
    expect(relayFrame(prefix, Buffer.byteLength(prefix), buf, s.dataStart, s.dataEnd).toString()).toBe('{"type":"signal","from":"p","data":{"n":12345678901234567890123}}');
  });

  it('declined frames still get the full path, which strips a spoofed from', () => {
    expect(parseClientFrame('{"type":"signal","data":1,"from":"spoof"}')).toEqual({ ok: true, msg: { type: 'signal', data: 1 } });
  });
});

describe('isSignalData', () => {
  const bodies = ['{"a":1}', ' [1, "x"] ', '"text"', '0', '-1.5e3', 'null', 'true', '{"sdp":"v=0\\r\\n","ü":"🎉"}', '[[[[{"deep":[{}]}]]]]'];
  const refused = ['', '   ', 'not json', '{"a":1', '{"a":1}}', "{'a':1}", '01', '[1,]', '"\u0001"', '1 2', `${'['.repeat(70)}${']'.repeat(70)}`];

  it('accepts exactly the bodies scanSignal takes as the data of a signal request', () => {
    for (const body of [...bodies, ...refused]) {
      const frame = scanSignal(Buffer.from(`{"type":"signal","data":${body}}`));
      expect(isSignalData(Buffer.from(body)), body).toBe(frame !== undefined);
      if (frame !== undefined) expect(JSON.parse(body), body).toEqual((JSON.parse(`{"type":"signal","data":${body}}`) as { data: unknown }).data);
    }
    for (const body of bodies) expect(isSignalData(Buffer.from(body)), body).toBe(true);
    for (const body of refused) expect(isSignalData(Buffer.from(body)), body).toBe(false);
  });
});
