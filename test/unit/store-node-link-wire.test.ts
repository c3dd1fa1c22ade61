import { describe, expect, it } from 'vitest';
import { ackMessage, bundle, linkMarker, linkRequestHeaders, parseAck, parseLinkAddress, parseLinkRequest, parseMarker, unbundle } from '../../src/store/node-link-wire.js';

describe('node link wire format', () => {
  it('bundles several messages into one and back, byte-exact, whatever they hold', () => {
    const messages = ['E2 a 1.1\n2 2\n{}{}', 'E2 a 1.2\n2 9\n{}"é 😀\n,"', 'EB 1\nx'];
    expect(unbundle(bundle(messages))).toEqual(messages);
    // One message travels as itself.
    expect(bundle([messages[0]!])).toBe(messages[0]);
    expect(unbundle(messages[0]!)).toEqual([messages[0]]);
  });

  it('refuses a malformed bundle', () => {
    for (const bad of ['EB 3\nab', 'EB 1\nabc', 'EB x\nab', 'EB 1', 'EB -1\n']) expect(unbundle(bad), bad).toBeUndefined();
  });

  it('parses link requests, acks, markers and advertised addresses, and refuses anything else', () => {
    const headers = linkRequestHeaders('node-1', '0123456789abcdef', 'a'.repeat(32));
    expect(parseLinkRequest(headers)).toEqual({ origin: 'node-1', link: '0123456789abcdef', token: 'a'.repeat(32) });
    for (const [name, value] of [
      ['authorization', undefined],
      ['authorization', `Basic ${'a'.repeat(32)}`],
      ['authorization', 'Bearer short'],
      ['x-sigctl-node', 'a b'],
      ['x-sigctl-node', undefined],
      ['x-sigctl-link', 'not-hex'],
    ] as const) {
      expect(parseLinkRequest({ ...headers, [name]: value }), `${name}: ${value}`).toBeUndefined();
    }
    expect(parseAck(ackMessage(42))).toBe(42);
    expect(parseAck('ack x')).toBeUndefined();
    expect(parseAck('ok')).toBeUndefined();
    expect(parseMarker(linkMarker('node-1', '0123456789abcdef'))).toEqual({ origin: 'node-1', link: '0123456789abcdef' });
    expect(parseMarker('E2 node-1 1.1\n')).toBeUndefined();
    expect(parseMarker('EL a b c')).toBeUndefined();
    const address = { host: '10.0.0.5', port: 4100, token: 'f'.repeat(32) };
    expect(parseLinkAddress(JSON.stringify(address))).toEqual(address);
    for (const bad of [null, 'x', JSON.stringify({ ...address, port: 0 }), JSON.stringify({ ...address, token: 'short' })]) expect(parseLinkAddress(bad)).toBeUndefined();
  });
});
