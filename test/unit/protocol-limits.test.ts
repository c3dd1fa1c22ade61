/**
 * The protocol's structural limits, checked against a plain recursive reference on random JSON:
 * nestsDeeperThan (the byte scan run before any parse) and measureJson (meta depth and size).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, measureJson, nestsDeeperThan } from '../../src/protocol/limits.js';

/** Nesting depth of a parsed value: 0 for a scalar, 1 for [] or {}. */
function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? (v as unknown[]) : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthOf));
}

const json = fc.jsonValue({ maxDepth: 8 });

describe('nestsDeeperThan', () => {
  it('agrees with the depth of the parsed value, for any JSON text and limit', () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 10 }), (v, max) => {
        const bytes = Buffer.from(JSON.stringify(v));
        expect(nestsDeeperThan(bytes, max)).toBe(depthOf(v) > max);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores brackets and escaped quotes inside strings', () => {
    expect(nestsDeeperThan(Buffer.from(JSON.stringify({ s: '[[[[{{{{\\"[[[' })), 1)).toBe(false);
    expect(nestsDeeperThan(Buffer.from('["\\\\",[[1]]]'), 2)).toBe(true);
  });

  it('counts the frame object as one level', () => {
    const frame = (levels: number): Buffer => Buffer.from(`{"type":"signal","data":${'['.repeat(levels)}${']'.repeat(levels)}}`);
    expect(nestsDeeperThan(frame(MAX_JSON_DEPTH - 1), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(frame(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('measureJson', () => {
  it('gives the UTF-8 size of JSON.stringify and the depth, without recursion', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const m = measureJson(v, 100);
        expect(m.tooDeep).toBe(false);
        expect(m.bytes).toBe(Buffer.byteLength(JSON.stringify(v)));
        expect(measureJson(v, depthOf(v)).tooDeep).toBe(false);
        if (depthOf(v) > 0) expect(measureJson(v, depthOf(v) - 1).tooDeep).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('counts lone surrogates as JSON.stringify writes them (escaped)', () => {
    const v = { s: '\ud800x\udfff😀' };
    expect(measureJson(v, 8).bytes).toBe(Buffer.byteLength(JSON.stringify(v)));
  });

  it('stops at the limit on a value far too deep to recurse on', () => {
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(measureJson(v, 8).tooDeep).toBe(true);
  });
});
