/**
 * STOMP 1.2 framing, checked against the spec's rules and against @stomp/stompjs itself: frames
 * stompjs serializes decode here, and frames encoded here parse in stompjs's own Parser.
 */
import { FrameImpl, Parser, type IRawFrameType } from '@stomp/stompjs';
import { describe, expect, it } from 'vitest';
import { encodeStompFrame, encodeStompHead, stompFrameBytes, stompFrameFromHead, StompDecoder, StompFrameError, type StompEvent, type StompFrame } from '../../src/protocol/stomp-frame.js';

const limits = { maxFrameBytes: 64 * 1024, maxHeaders: 32 };

function frames(events: StompEvent[]): StompFrame[] {
  return events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
}

function decodeOne(text: string | Buffer): StompFrame {
  const out = frames(new StompDecoder(limits).push(text));
  expect(out).toHaveLength(1);
  return out[0] as StompFrame;
}

function problem(text: string | Buffer, l = limits): string {
  try {
    new StompDecoder(l).push(text);
  } catch (e) {
    if (e instanceof StompFrameError) return e.problem;
    throw e;
  }
  return 'accepted';
}

/** What stompjs's own parser makes of `wire` (command, headers as sent, body as text). */
function stompjsParse(wire: string): Array<{ command: string; headers: Record<string, string>; body: string }> {
  const out: Array<{ command: string; headers: Record<string, string>; body: string }> = [];
  const parser = new Parser(
    (raw: IRawFrameType) => {
      const f = FrameImpl.fromRawFrame(raw, true);
      out.push({ command: f.command, headers: f.headers, body: f.body });
    },
    () => undefined,
  );
  parser.parseChunk(wire);
  return out;
}

describe('StompDecoder', () => {
  it('decodes what @stomp/stompjs sends: SEND with escaped headers and content-length', () => {
    const wire = FrameImpl.marshall({
      command: 'SEND',
      headers: { destination: '/app/rooms/r1/signal', 'x-odd': 'a:b\nc\\d' },
      body: '{"type":"OFFER","sdp":"v=0\\r\\n"}',
      escapeHeaderValues: true,
    });
    const f = decodeOne(wire as string);
    expect(f.command).toBe('SEND');
    expect(f.headers.get('destination')).toBe('/app/rooms/r1/signal');
    expect(f.headers.get('x-odd')).toBe('a:b\nc\\d');
    expect(f.body.toString()).toBe('{"type":"OFFER","sdp":"v=0\\r\\n"}');
  });

  it('reads CONNECT headers as they are (no unescaping) and a NUL-terminated empty body', () => {
    const f = decodeOne('CONNECT\naccept-version:1.2,1.1\nheart-beat:10000,10000\npasscode:a\\b\n\n\0');
    expect(f.headers.get('accept-version')).toBe('1.2,1.1');
    expect(f.headers.get('passcode')).toBe('a\\b');
    expect(f.body.length).toBe(0);
  });

  it('accepts CR LF line ends and keeps the first of repeated headers', () => {
    const f = decodeOne('SUBSCRIBE\r\nid:1\r\ndestination:/topic/a\r\nid:2\r\n\r\n\0');
    expect([...f.headers]).toEqual([
      ['id', '1'],
      ['destination', '/topic/a'],
    ]);
  });

  it('takes a body of content-length octets even when it holds NULs', () => {
    const body = Buffer.from([0x61, 0x00, 0x62]);
    const f = decodeOne(Buffer.concat([Buffer.from('SEND\ndestination:/x\ncontent-length:3\n\n'), body, Buffer.from([0])]));
    expect(f.body.equals(body)).toBe(true);
  });

  it('reports each EOL between frames as a heart-beat and decodes several frames in one message', () => {
    const events = new StompDecoder(limits).push('\n\r\nSEND\ndestination:/a\n\nx\0\nSEND\ndestination:/b\n\ny\0\0');
    expect(events.map((e) => (e.kind === 'frame' ? e.frame.body.toString() : 'hb'))).toEqual(['hb', 'hb', 'x', 'hb', 'y']);
  });

  it('joins a frame split across messages at every octet, CR LF and multi-byte UTF-8 included', () => {
    const wire = Buffer.from('\r\nSEND\r\ndestination:/app/rooms/é/signal\r\ncontent-length:5\r\n\r\nhé\0l\0');
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new StompDecoder(limits);
      const events = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      const got = frames(events);
      expect(got, `cut at ${cut}`).toHaveLength(1);
      expect(got[0]?.headers.get('destination')).toBe('/app/rooms/é/signal');
      expect(got[0]?.body.toString()).toBe('hé\0l');
      expect(events.filter((e) => e.kind === 'heartbeat')).toHaveLength(1);
      expect(d.buffered).toBe(0);
    }
  });

  it('refuses what the spec makes fatal, each with its own reason', () => {
    expect(problem('SEND\ndestination:/a\\t\n\n\0')).toBe('bad-escape');
    expect(problem('SEND\nno-colon\n\n\0')).toBe('bad-header');
    expect(problem('SEND\n:value\n\n\0')).toBe('bad-header');
    expect(problem('send\n\n\0')).toBe('bad-command');
    expect(problem('SEND\ncontent-length:-1\n\n\0')).toBe('bad-content-length');
    expect(problem('SEND\ncontent-length:2\n\nabc\0')).toBe('missing-nul');
    expect(problem('SEND\ncontent-length:99999999\n\n')).toBe('frame-too-large');
    expect(problem(`SEND\n${'h:v\n'.repeat(40)}\n\0`)).toBe('too-many-headers');
  });

  it('bounds a partial frame: an endless body without NUL is refused at the limit, not buffered', () => {
    const d = new StompDecoder({ maxFrameBytes: 1024, maxHeaders: 8 });
    expect(d.push('SEND\ndestination:/a\n\n' + 'x'.repeat(900))).toEqual([]);
    expect(() => d.push('x'.repeat(200))).toThrow(StompFrameError);
  });
});

describe('encodeStompFrame', () => {
  it('writes frames that stompjs parses back to the same command, headers and body', () => {
    const body = '{"type":"ANSWER","sdp":"v=0\\r\\na=x:y\\r\\n","note":"é\\u0000"}';
    const wire = encodeStompFrame(
      'MESSAGE',
      [
        ['subscription', 'sub-0'],
        ['message-id', '7'],
        ['destination', '/topic/rooms/a:b/signal'],
        ['x-back', 'a\\b\nc'],
      ],
      body,
    );
    expect(stompjsParse(wire)).toEqual([
      {
        command: 'MESSAGE',
        headers: { subscription: 'sub-0', 'message-id': '7', destination: '/topic/rooms/a:b/signal', 'x-back': 'a\\b\nc', 'content-length': String(Buffer.byteLength(body)) },
        body,
      },
    ]);
  });

  it('leaves CONNECTED headers unescaped, omits content-length for an empty body, and round-trips through the decoder', () => {
    const wire = encodeStompFrame('CONNECTED', [
      ['version', '1.2'],
      ['heart-beat', '10000,10000'],
    ]);
    expect(wire).toBe('CONNECTED\nversion:1.2\nheart-beat:10000,10000\n\n\0');
    const back = decodeOne(encodeStompFrame('ERROR', [['message', 'bad: frame']], 'detail'));
    expect(back.headers.get('message')).toBe('bad: frame');
    expect(back.body.toString()).toBe('detail');
  });
});

describe('stompFrameBytes', () => {
  it('makes the same bytes as stompFrameFromHead, from a slice of a larger buffer, multi-byte bodies included', () => {
    const head = encodeStompHead('MESSAGE', [['destination', '/topic/rooms/a:b/signal'], ['subscription', 'süb']]) + 'message-id:s-';
    for (const body of ['{"sdp":"é ☃ 😀"}', '"x"', '']) {
      const around = Buffer.concat([Buffer.from('<<'), Buffer.from(body), Buffer.from('>>')]);
      const bytes = stompFrameBytes(Buffer.from(head), '7\nsid:abc\n', around, 2, around.length - 2);
      expect(bytes.toString('utf8')).toBe(stompFrameFromHead(`${head}7\nsid:abc\n`, body));
    }
  });

  it('hands latin1-decoded tail bytes back unchanged', () => {
    const tail = Buffer.from('1\nsid:ü\n').toString('latin1');
    const bytes = stompFrameBytes(Buffer.from('MESSAGE\n'), tail, Buffer.from('{}'), 0, 2);
    expect(bytes.toString('utf8')).toBe('MESSAGE\n1\nsid:ü\ncontent-length:2\n\n{}\0');
  });
});
