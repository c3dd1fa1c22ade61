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
