/** Session (member) ids: short, URL-safe, and never read as a command-line option. */
import { describe, expect, it } from 'vitest';
import { sessionId } from '../../src/server/front-door.js';

describe('sessionId', () => {
  it('is 11 base64url characters that never start with "-" (a 1-in-64 chance per raw id)', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = sessionId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{10}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(20_000);
  });
});
