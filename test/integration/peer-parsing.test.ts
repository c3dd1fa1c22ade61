/**
 * The small pure pieces of the peer: --ice-server parsing, SDP checks, candidate classification,
 * transfer control messages and the phase split of a connection report. (No sockets: kept here
 * because these belong to the peer area.)
 */
import { describe, expect, it } from 'vitest';
import { parseIceServer } from '../../src/cli/commands/peer.js';
import { phaseSplit, type PeerConnected } from '../../src/peer/index.js';
import { sdpProblem, sessionIdentity } from '../../src/peer/sdp.js';
import { candidateTypeOf, classifyPair } from '../../src/peer/stats.js';
import { parseControl } from '../../src/peer/transfer.js';

const SDP = ['v=0', 'o=- 1 0 IN IP4 0.0.0.0', 's=-', 't=0 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdef0123', 'a=fingerprint:sha-256 AA:BB', ''].join('\r\n');

describe('peer parsing', () => {
  it('parses --ice-server URLs with and without TURN credentials', () => {
    expect(parseIceServer('stun:stun.example.com:3478')).toEqual({ urls: 'stun:stun.example.com:3478' });
    expect(parseIceServer('turn:alice:s%40cret@turn.example.com:3478?transport=udp')).toEqual({
      urls: 'turn:turn.example.com:3478?transport=udp',
      username: 'alice',
      credential: 's@cret',
    });
    expect(() => parseIceServer('http://nope')).toThrow(/expected stun:HOST/);
  });

  it('accepts a data-channel SDP and names what is missing from a bad one', () => {
    expect(sdpProblem(SDP)).toBeUndefined();
    expect(sdpProblem('hello')).toMatch(/v=0/);
    expect(sdpProblem(SDP.replace(/m=application.*\r\n/, ''))).toMatch(/m=application/);
    expect(sdpProblem(SDP.replace(/a=fingerprint.*\r\n/, ''))).toMatch(/fingerprint/);
    expect(sessionIdentity(SDP)).toBe('abcd|sha-256 AA:BB');
  });

  it('classifies candidate pairs the way operators read them', () => {
    expect(candidateTypeOf('candidate:1 1 udp 1 10.0.0.1 5000 typ srflx raddr 0.0.0.0 rport 0')).toBe('srflx');
    expect(candidateTypeOf('garbage')).toBeUndefined();
    expect(classifyPair('host', 'prflx')).toBe('host');
    expect(classifyPair('srflx', 'host')).toBe('srflx');
    expect(classifyPair('host', 'relay')).toBe('relay');
    expect(classifyPair('unknown', 'unknown')).toBe('unknown');
  });

  it('recognises transfer control messages only', () => {
    expect(parseControl('{"sigctl":"file","id":"x","name":"a.bin","size":3}')).toMatchObject({ sigctl: 'file', size: 3 });
    expect(parseControl('{"sigctl":"file","id":"x"}')).toBeUndefined();
    expect(parseControl('hello')).toBeUndefined();
    expect(parseControl(Buffer.from('{"sigctl":"file"}'))).toBeUndefined();
  });

  it('splits a connection report into signaling, ICE, DTLS and channel phases', () => {
    const report: PeerConnected = {
      peer: 'p',
      name: 'n',
      startedAt: 100,
      restarts: 0,
      pair: undefined,
      phases: { 'offer-sent': 110, 'ice-connected': 150, 'dtls-connected': 180, 'channel-open': 185 },
      session: { startedAt: 0, wsConnectedAt: 20, joinedAt: 30 },
    };
    expect(phaseSplit(report)).toEqual({ signalingMs: 30, iceMs: 40, dtlsMs: 30, channelMs: 5, totalMs: 85 });
  });
});
