/**
 * The set-up of a werift patch suite: every patch applied before the suite (none skipped), and a
 * Cleanups list run after each test (prototype swaps undone, peers closed), bounded in time.
 */
import { afterEach, beforeAll, expect } from 'vitest';
import { applyWeriftPatches } from '../../src/peer/patches/index.js';
import { Cleanups } from './cleanups.js';
import { within } from './within.js';

export function patchedWeriftSuite(): Cleanups {
  const cleanups = new Cleanups();
  afterEach(() => within(cleanups.run(), 10_000, 'cleanup'));
  beforeAll(() => {
    expect(applyWeriftPatches().skipped).toEqual([]);
  });
  return cleanups;
}
