import { describe, expect, it } from 'vitest';
import { clientDialect, type BenchPayload, type InboundSink } from '../../src/bench/signaling-dialects.js';
import { encodeStompFrame, StompDecoder } from '../../src/protocol/stomp-frame.js';

/** A sink that records what a dialect reported and sent. */
function recorder(): InboundSink & { joins: number; signals: BenchPayload[]; errors: string[]; sent: string[] } {
  const r = {
    joins: 0,
    signals: [] as BenchPayload[],
    errors: [] as string[],
    sent: [] as string[],
    joined: () => void r.joins++,
    signal: (p: BenchPayload) => void r.signals.push(p),
    error: (code: string) => void r.errors.push(code),
    send: (frame: string) => void r.sent.push(frame),
  };
  return r;
}

const PAYLOAD = '{"s":1,"q":2,"p":3,"t":4.5}';

describe('bench signaling dialects', () => {
  it('raw: a lone member is ready on open; a pair is ready once each heard the other, however the first hello fared', () => {
    const lone = clientDialect('raw', { index: 9, room: 'r-9', members: 1, capacity: 2 });
    const l = recorder();
    lone.opened(l);
    expect(l.joins).toBe(1);
    expect(lone.connectUrl('ws://127.0.0.1:8080/ws?x=1')).toBe('ws://127.0.0.1:8080/room/r-9?x=1');

    const a = clientDialect('raw', { index: 0, room: 'r', members: 2, capacity: 2 });
    const b = clientDialect('raw', { index: 1, room: 'r', members: 2, capacity: 2 });
    const ra = recorder();
    const rb = recorder();
    a.opened(ra); // A's hello reached nobody: B had not joined yet
    b.opened(rb);
    expect([ra.joins, rb.joins]).toEqual([0, 0]);
    a.inbound(rb.sent[0]!, ra); // B's hello reaches A: A is ready and answers
    expect(ra.joins).toBe(1);
    expect(ra.sent).toHaveLength(2);
    b.inbound(ra.sent[1]!, rb); // the answer reaches B: ready, and B answers once
    expect(rb.joins).toBe(1);
    a.inbound(rb.sent[1]!, ra); // A heard B already: no third hello
    expect(ra.sent).toHaveLength(2);
    a.inbound(b.signal(PAYLOAD), ra);
    expect(ra.signals).toEqual([{ s: 1, q: 2, p: 3, t: 4.5 }]);
  });

  it('stomp: CONNECT, four SUBSCRIBEs and the join SEND; joined on the first member list; signals, errors and frames split over messages', () => {
    const d = clientDialect('stomp', { index: 3, room: 'room-1', members: 2, capacity: 2 });
    const r = recorder();
    d.opened(r);
    const sent = r.sent.flatMap((s) => new StompDecoder({ maxFrameBytes: 65536, maxHeaders: 64 }).push(s)).flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
    expect(sent.map((f) => [f.command, f.headers.get('destination')])).toEqual([
      ['CONNECT', undefined],
      ['SUBSCRIBE', '/user/queue/me'],
      ['SUBSCRIBE', '/user/queue/system'],
      ['SUBSCRIBE', '/topic/rooms/room-1/members'],
      ['SUBSCRIBE', '/topic/rooms/room-1/signal'],
      ['SEND', '/app/rooms/room-1/join'],
    ]);
    expect(JSON.parse(sent[5]!.body.toString('utf8'))).toEqual({ roomId: 'room-1', displayName: 'b3' });

    const members = encodeStompFrame('MESSAGE', [['destination', '/topic/rooms/room-1/members'], ['subscription', 'members']], '[]');
    d.inbound(members + members, r);
    expect(r.joins).toBe(1);
    const signal = encodeStompFrame('MESSAGE', [['destination', '/topic/rooms/room-1/signal'], ['subscription', 'signal'], ['sid', 'x']], PAYLOAD);
    d.inbound(signal.slice(0, 20), r);
    d.inbound(signal.slice(20), r);
    expect(r.signals).toEqual([{ s: 1, q: 2, p: 3, t: 4.5 }]);
    d.inbound(encodeStompFrame('MESSAGE', [['destination', '/user/queue/system'], ['subscription', 'system']], '{"type":"ROOM_FULL","code":"ROOM_FULL","message":"full"}'), r);
    expect(r.errors).toEqual(['ROOM_FULL']);
    const send = new StompDecoder({ maxFrameBytes: 65536, maxHeaders: 64 }).push(d.signal(PAYLOAD));
    expect(send).toMatchObject([{ kind: 'frame', frame: { command: 'SEND' } }]);
  });

  it('v1: join on open, signal frames around the payload, joined and error frames', () => {
    const d = clientDialect('v1', { index: 5, room: 'q', members: 2, capacity: 3 });
    const r = recorder();
    d.opened(r);
    expect(JSON.parse(r.sent[0]!)).toEqual({ type: 'join', room: 'q', name: 'b5', capacity: 3 });
    expect(JSON.parse(d.signal(PAYLOAD))).toEqual({ type: 'signal', data: { s: 1, q: 2, p: 3, t: 4.5 } });
    d.inbound('{"type":"joined"}', r);
    d.inbound(`{"type":"signal","from":"m","data":${PAYLOAD}}`, r);
    d.inbound('{"type":"error","code":"ROOM_FULL"}', r);
    d.inbound('not json', r);
    expect([r.joins, r.signals.length, r.errors]).toEqual([1, 1, ['ROOM_FULL']]);
  });
});
