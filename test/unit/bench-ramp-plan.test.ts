/**
 * The ramp's rate plan (src/bench/ramp-plan.ts): x factor while sustained, then geometric
 * bisections between the last sustained rate and the first missed one.
 */
import { describe, expect, it } from 'vitest';
import { RampPlan, type RampStep } from '../../src/bench/ramp-plan.js';

/** Runs a plan against a server that sustains every rate up to `capacity`; returns the steps tried. */
function drive(plan: RampPlan, capacity: number): RampStep[] {
  const tried: RampStep[] = [];
  for (let s = plan.next(); s !== undefined; s = plan.next()) {
    tried.push(s);
    plan.record(s.rate, s.rate <= capacity);
    if (tried.length > 50) throw new Error('the plan does not end');
  }
  return tried;
}

describe('RampPlan', () => {
  it('multiplies by the factor while sustained, then bisects between the last sustained and the first missed rate', () => {
    const plan = new RampPlan(1000, 1.5, 12, 2);
    const tried = drive(plan, 2000);
    expect(tried.filter((s) => !s.refine).map((s) => s.rate)).toEqual([1000, 1500, 2250]);
    expect(plan.firstMissedRate).toBe(2250);
    const [r1, r2] = tried.filter((s) => s.refine).map((s) => s.rate);
    expect(r1).toBeCloseTo(Math.sqrt(1500 * 2250), 6); // ~1837: sustained
    expect(r2).toBeCloseTo(Math.sqrt(r1! * 2250), 6); // ~2033: missed
    expect(tried).toHaveLength(5);
  });

  it('narrows from below when the refinements miss', () => {
    const tried = drive(new RampPlan(1000, 1.5, 12, 2), 1600);
    const [r1, r2] = tried.filter((s) => s.refine).map((s) => s.rate);
    expect(r1).toBeCloseTo(Math.sqrt(1500 * 2250), 6); // missed
    expect(r2).toBeCloseTo(Math.sqrt(1500 * r1!), 6);
  });

  it('does not refine when the first step misses or when the step limit is reached', () => {
    const none = new RampPlan(1000, 1.5, 12, 2);
    expect(drive(none, 10)).toEqual([{ rate: 1000, refine: false }]);
    expect(none.firstMissedRate).toBe(1000);
    const capped = new RampPlan(1000, 1.5, 3, 2);
    expect(drive(capped, 1e9).map((s) => s.rate)).toEqual([1000, 1500, 2250]);
    expect(capped.firstMissedRate).toBeUndefined();
  });

  it('takes no refinements when asked for none', () => {
    expect(drive(new RampPlan(1000, 1.5, 12, 0), 2000).every((s) => !s.refine)).toBe(true);
  });
});
