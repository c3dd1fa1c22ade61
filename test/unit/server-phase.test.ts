/** The server's phases (src/server/phase.ts): every transition in the table works, every other throws. */
import { describe, expect, it } from 'vitest';
import { canTransition, ServerPhase, type ServerPhaseName } from '../../src/server/phase.js';

const PHASES: readonly ServerPhaseName[] = ['starting', 'serving', 'draining', 'closing', 'closed'];
const ALLOWED = new Set(['starting>serving', 'starting>closing', 'serving>draining', 'serving>closing', 'draining>closing', 'closing>closed']);

/** A ServerPhase walked to `target` along allowed transitions. */
function at(target: ServerPhaseName): ServerPhase {
  const path: Record<ServerPhaseName, readonly ServerPhaseName[]> = {
    starting: [],
    serving: ['serving'],
    draining: ['serving', 'draining'],
    closing: ['closing'],
    closed: ['closing', 'closed'],
  };
  const phase = new ServerPhase();
  for (const p of path[target]) phase.transition(p);
  return phase;
}

describe('server phase', () => {
  for (const from of PHASES) {
    for (const to of PHASES) {
      const ok = ALLOWED.has(`${from}>${to}`);
      it(`${from} -> ${to} ${ok ? 'is allowed' : 'throws'}`, () => {
        expect(canTransition(from, to)).toBe(ok);
        const phase = at(from);
        if (ok) {
          phase.transition(to);
          expect(phase.current).toBe(to);
        } else {
          expect(() => phase.transition(to)).toThrow(`${from} -> ${to}`);
          expect(phase.current).toBe(from);
        }
      });
    }
  }

  it('remembers a drain while closing, and untilClosing resolves when closing begins', async () => {
    const phase = at('draining');
    let closingSeen = false;
    const seen = phase.untilClosing().then(() => (closingSeen = true));
    await Promise.resolve();
    expect(closingSeen).toBe(false);
    phase.transition('closing');
    await seen;
    expect(closingSeen).toBe(true);
    expect(phase.drained).toBe(true);
    expect(phase.closing).toBe(true);
    expect(at('closing').drained).toBe(false);
  });
});
