/**
 * How a skipped werift runtime patch is surfaced: the session's warning text and the bench
 * report's lines. (That none is skipped on the pinned werift is checked on real werift in
 * test/integration/werift-setup-patches.test.ts and the bench/peer e2e tests.)
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { patchLines } from '../../src/bench/render.js';
import { skippedPatchesWarning } from '../../src/peer/patch-status.js';

const plain = new Chalk({ level: 0 });
const skipped = [
  { name: 'send-queue', reason: 'werift 0.25.0 is installed' },
  { name: 'host-bind', reason: 'not a function' },
];

describe('werift patch status', () => {
  it('warns about skipped patches grouped by reason, and not at all when none was skipped', () => {
    expect(skippedPatchesWarning({ skipped: [] })).toBeUndefined();
    expect(skippedPatchesWarning({ skipped })).toBe('2 werift runtime patch(es) not applied, werift runs without them: send-queue (werift 0.25.0 is installed); host-bind (not a function)');
  });

  it('the bench report lists applied and skipped patches, each skipped one with its reason', () => {
    expect(patchLines(plain, undefined)).toEqual([]);
    expect(patchLines(plain, { weriftVersion: '0.24.4', targetVersion: '0.24.4', applied: ['a', 'b'], skipped: [] })).toEqual(['', 'werift 0.24.4 runtime patches: 2 applied, 0 skipped']);
    expect(patchLines(plain, { weriftVersion: '0.25.0', targetVersion: '0.24.4', applied: [], skipped })).toEqual([
      '',
      'werift 0.25.0 runtime patches: 0 applied, 2 skipped',
      '  skipped send-queue: werift 0.25.0 is installed',
      '  skipped host-bind: not a function',
    ]);
  });
});
