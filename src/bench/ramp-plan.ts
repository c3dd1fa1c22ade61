import type { SignalingWindow } from './windows.js';

/** What a ramp found, from its steps. */
export interface RampOutcome {
  /** Highest send rate of a sustained step (never a generator-bound one); null when none was. */
  maxSustainedRate: number | null;
  /** Target rate of the first x-factor step not sustained; null when the ramp ended otherwise. */
  firstMissedRate: number | null;
  /**
   * Target rate of the step at which the load generator became the limit (its ELU passed
   * GENERATOR_BOUND_ELU) and the ramp stopped; null when it never did. Not null: maxSustainedRate
   * is a lower bound of the server's maximum, and no ratio to another server is drawn from it.
   */
  generatorBoundRate: number | null;
}

/** The outcome of a ramp from its windows (which carry their verdicts) and how it ended. */
export function rampOutcome(steps: readonly SignalingWindow[], firstMissedRate: number | undefined, generatorBoundRate: number | null): RampOutcome {
  const ok = steps.filter((s) => s.sustained === true && !s.generatorBound);
  return {
    maxSustainedRate: ok.length === 0 ? null : Math.max(...ok.map((s) => s.sendRate)),
    firstMissedRate: firstMissedRate ?? null,
    generatorBoundRate,
  };
}

/**
 * Which rate the signaling ramp tries next. It multiplies the rate by `factor` per step while steps
 * are sustained (at most `maxSteps` of them); after the first step that is not, it bisects
 * (geometrically) between the last sustained rate and that step's `refineSteps` times, so that the
 * maximum it reports is not only known to within a factor of 1.5 (with 2 refinements: within
 * 1.5^(1/4), ~11%). No refinement when the first step already misses (nothing to bisect from) or
 * when the step limit is reached (the maximum is then a lower bound).
 */
export interface RampStep {
  /** Target total rate, signals/s. */
  rate: number;
  /** A bisection between the last sustained rate and the first missed one. */
  refine: boolean;
}

export class RampPlan {
  private rate: number;
  private sustainedRate: number | undefined;
  private missedRate: number | undefined;
  private steps = 0;
  private refinesLeft: number;
  /** The target rate of the first x-factor step that was not sustained; undefined until one is not. */
  firstMissedRate: number | undefined;

  constructor(
    start: number,
    private readonly factor: number,
    private readonly maxSteps: number,
    refineSteps: number,
  ) {
    this.rate = start;
    this.refinesLeft = refineSteps;
  }

  /** The next step, or undefined when the ramp is over. */
  next(): RampStep | undefined {
    if (this.firstMissedRate === undefined) return this.steps < this.maxSteps ? { rate: this.rate, refine: false } : undefined;
    if (this.sustainedRate === undefined || this.missedRate === undefined || this.refinesLeft <= 0) return undefined;
    return { rate: Math.sqrt(this.sustainedRate * this.missedRate), refine: true };
  }

  /** Records how the step at `rate` (the one next() gave) went. */
  record(rate: number, sustained: boolean): void {
    if (this.firstMissedRate === undefined) {
      this.steps++;
      if (sustained) {
        this.sustainedRate = rate;
        this.rate = rate * this.factor;
      } else {
        this.firstMissedRate = rate;
        this.missedRate = rate;
      }
      return;
    }
    this.refinesLeft--;
    if (sustained) this.sustainedRate = rate;
    else this.missedRate = rate;
  }
}
