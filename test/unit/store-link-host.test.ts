import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { linkHost } from '../../src/store/factory.js';

describe('the address a node advertises for links when config names none', () => {
  it('is the server host when that names one address', () => {
    for (const host of ['127.0.0.1', '::1', '10.1.2.3', 'node-a.internal']) expect(linkHost(host)).toBe(host);
  });

  it("is this machine's first non-internal IPv4 address for a wildcard host (127.0.0.1 without one)", () => {
    const external = Object.values(networkInterfaces())
      .flatMap((a) => a ?? [])
      .find((a) => a.family === 'IPv4' && !a.internal)?.address;
    for (const host of ['0.0.0.0', '::']) expect(linkHost(host)).toBe(external ?? '127.0.0.1');
  });
});
