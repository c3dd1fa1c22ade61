import { describe, expect, it } from 'vitest';
import { exposureWarnings, isLoopbackHost } from '../../src/auth/exposure.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { TEST_SECRET } from '../helpers/auth-tokens.js';

const warn = (input: ConfigInput): string[] => exposureWarnings(ConfigSchema.parse(input));

describe('exposureWarnings', () => {
  it('says nothing for the loopback default', () => {
    expect(warn({})).toEqual([]);
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'signal.example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('warns about missing auth and origins when exposed', () => {
    const w = warn({ host: '0.0.0.0' });
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/0\.0\.0\.0.*without auth\.jwt/);
    expect(w[1]).toMatch(/empty origins list/);
  });

  it('warns about clear-text tokens without TLS, and nothing when fully guarded', () => {
    expect(warn({ host: '::', auth: { jwt: { secret: TEST_SECRET } }, origins: ['https://app.example.com'] })).toEqual([expect.stringMatching(/without TLS/) as unknown]);
    expect(warn({ host: '::', auth: { jwt: { secret: TEST_SECRET } }, origins: ['https://app.example.com'], tls: { cert: 'c.pem', key: 'k.pem' } })).toEqual([]);
  });
});
