import { describe, expect, it } from 'vitest';
import { createOriginCheck } from '../../src/auth/index.js';

describe('createOriginCheck', () => {
  it('allows everything with an empty list or *', () => {
    expect(createOriginCheck([])('https://evil.test')).toBe(true);
    expect(createOriginCheck(['*'])('https://evil.test')).toBe(true);
  });

  it('allows requests without an Origin header (not a browser page)', () => {
    expect(createOriginCheck(['https://app.example.com'])(undefined)).toBe(true);
  });

  it('matches exact origins on scheme, host and port', () => {
    const check = createOriginCheck(['https://app.example.com', 'http://localhost:5173']);
    expect(check('https://app.example.com')).toBe(true);
    expect(check('https://APP.example.com:443')).toBe(true);
    expect(check('http://app.example.com')).toBe(false);
    expect(check('https://app.example.com:8443')).toBe(false);
    expect(check('https://app.example.com.evil.test')).toBe(false);
    expect(check('http://localhost:5173')).toBe(true);
    expect(check('http://localhost:5174')).toBe(false);
  });

  it('matches *.example.com subdomains but not the apex or look-alikes', () => {
    const check = createOriginCheck(['*.example.com']);
    expect(check('https://a.example.com')).toBe(true);
    expect(check('http://a.b.example.com:8080')).toBe(true);
    expect(check('https://example.com')).toBe(false);
    expect(check('https://evilexample.com')).toBe(false);
    expect(check('https://example.com.evil.test')).toBe(false);
    expect(check('ftp://a.example.com')).toBe(false);
  });

  it('restricts scheme and port when the pattern has them', () => {
    const check = createOriginCheck(['https://*.example.com']);
    expect(check('https://a.example.com')).toBe(true);
    expect(check('http://a.example.com')).toBe(false);
    expect(check('https://a.example.com:8443')).toBe(false);
  });

  it('handles null and garbage origins', () => {
    expect(createOriginCheck(['https://a.test'])('null')).toBe(false);
    expect(createOriginCheck(['https://a.test', 'null'])('null')).toBe(true);
    expect(createOriginCheck(['https://a.test'])('not a url')).toBe(false);
    expect(createOriginCheck(['https://a.test'])('')).toBe(false);
  });

  it('rejects bad entries with CONFIG_INVALID naming the entry', () => {
    expect(() => createOriginCheck(['https://a.test', 'https://a.test/path'])).toThrow(/origins\.1 = "https:\/\/a\.test\/path"/);
    expect(() => createOriginCheck(['a.test:8080'])).toThrow(/port needs a scheme/);
    expect(() => createOriginCheck(['*.*.test'])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as unknown);
  });
});
