/**
 * The member and connection lifecycles (src/server/member.ts): every transition in the tables is
 * allowed, every other one throws; a Member's grace timer, held frames and token follow its state.
 */
import { describe, expect, it } from 'vitest';
import { CONNECTION_LIFECYCLE, MEMBER_LIFECYCLE, Member, canTransition, transition, type Lifecycle, type Outbox, type Timers } from '../../src/server/member.js';
import type { MemberRecord } from '../../src/store/store.js';

function everyPair<S extends string>(lc: Lifecycle<S>): Array<[S, S, boolean]> {
  const states = Object.keys(lc.table) as S[];
  return states.flatMap((from) => states.map((to): [S, S, boolean] => [from, to, lc.table[from].includes(to)]));
}

for (const lc of [CONNECTION_LIFECYCLE, MEMBER_LIFECYCLE] as Array<Lifecycle<string>>) {
  describe(`${lc.name} lifecycle`, () => {
    const pairs = everyPair(lc);

    it.each(pairs.filter(([, , ok]) => ok))('allows %s -> %s', (from, to) => {
      const subject = { state: from };
      expect(canTransition(lc, from, to)).toBe(true);
      transition(lc, subject, to);
      expect(subject.state).toBe(to);
    });

    it.each(pairs.filter(([, , ok]) => !ok))('refuses %s -> %s (throws, state unchanged)', (from, to) => {
      const subject = { state: from };
      expect(canTransition(lc, from, to)).toBe(false);
      expect(() => transition(lc, subject, to)).toThrow(`illegal ${lc.name} transition ${from} -> ${to}`);
      expect(subject.state).toBe(from);
    });

    it('has a terminal state and every state in the table', () => {
      const states = Object.keys(lc.table);
      expect(states.some((s) => lc.table[s]!.length === 0)).toBe(true);
      for (const targets of Object.values(lc.table)) for (const t of targets) expect(states).toContain(t);
    });
  });
}

/** Timers driven by the test: nothing fires until `fire()`. */
class ManualTimers implements Timers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  private next = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(++this.next, { fn, ms });
    return this.next;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  fire(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const t of due) t.fn();
  }
}

const outbox: Outbox = { sendFrame: () => undefined, sendError: () => undefined, dismiss: () => undefined };
const record: MemberRecord = { id: 'm1', name: 'm1', meta: {}, node: 'n1' };

describe('Member', () => {
  it('runs its grace timer exactly while away, and expires through it', () => {
    const timers = new ManualTimers();
    const m = new Member(record, outbox, 't1', 'live', timers);
    let expired = 0;
    m.goAway(5000, () => expired++);
    expect(m.state).toBe('away');
    expect(m.conn).toBeUndefined();
    expect([...timers.pending.values()].map((t) => t.ms)).toEqual([5000]);
    timers.fire();
    expect(expired).toBe(1);
    expect(m.state).toBe('away');
    m.end();
    expect(m.state).toBe('gone');
  });

  it('holds frames while resuming and hands them over in order when live', () => {
    const timers = new ManualTimers();
    const m = new Member(record, outbox, 't1', 'live', timers);
    m.goAway(5000, () => expect.fail('a resumed member does not expire'));
    m.beginResume(outbox);
    expect(timers.pending.size).toBe(0);
    m.hold('a');
    m.hold('b');
    expect(m.finishResume('t2')).toEqual(['a', 'b']);
    expect(m.state).toBe('live');
    expect(m.token).toBe('t2');
    expect(() => m.finishResume('t3')).toThrow('illegal member transition live -> live');
  });

  it("hands the old node's frames (early) over before the others it held, each in order", () => {
    const m = new Member(record, undefined, 't1', 'away', new ManualTimers());
    m.beginResume(outbox);
    m.hold('new-1');
    m.hold('old-1', true);
    m.hold('new-2');
    m.hold('old-2', true);
    expect(m.finishResume('t2')).toEqual(['old-1', 'old-2', 'new-1', 'new-2']);
    m.hold('after', true);
    m.goAway(1000, () => undefined);
    m.beginResume(outbox);
    expect(m.finishResume('t3')).toEqual([]);
  });

  it('goes back to away when dropped mid-resume, returning what it held', () => {
    const timers = new ManualTimers();
    const m = new Member(record, undefined, 't1', 'away', timers);
    m.beginResume(outbox);
    m.hold('x');
    expect(m.abortResume(1000, () => undefined)).toEqual(['x']);
    expect(m.state).toBe('away');
    expect(timers.pending.size).toBe(1);
  });

  it('ends from any state (idempotently), clearing the timer; a gone member cannot come back', () => {
    const timers = new ManualTimers();
    const m = new Member(record, outbox, 't1', 'live', timers);
    m.goAway(1000, () => expect.fail('an ended member does not expire'));
    m.end();
    m.end();
    expect(timers.pending.size).toBe(0);
    expect(m.state).toBe('gone');
    expect(() => m.beginResume(outbox)).toThrow('illegal member transition gone -> resuming');
    expect(() => m.goAway(1000, () => undefined)).toThrow('illegal member transition gone -> away');
  });
});
