/**
 * The two deadlines of a PeerLink (./link.ts): connected within `connectTimeoutMs` (default 20 s),
 * and, with --relay-only, a relay candidate within `gatherTimeoutMs` (default 10 s). The link
 * decides what a missed deadline means (restart, give up); this only keeps the timers.
 */
import type { Clock, TimerHandle } from '../client/clock.js';

/** What the link is told when a deadline passes. */
export interface DeadlineHooks {
  /** Not connected in time; `reason` says for how long, for the error message. */
  notConnected(reason: string): void;
  /** No relay candidate in time (`ms` is the limit that passed). */
  noRelay(ms: number): void;
}

/** The connect and gather timers of one link; every arm replaces the timer it arms. */
export class LinkDeadlines {
  private connectTimer: TimerHandle;
  private gatherTimer: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly limits: { connectTimeoutMs?: number | undefined; gatherTimeoutMs?: number | undefined },
    private readonly hooks: DeadlineHooks,
  ) {}

  /** (Re)starts the connect deadline. */
  armConnect(): void {
    if (this.connectTimer !== undefined) this.clock.clearTimeout(this.connectTimer);
    const ms = this.limits.connectTimeoutMs ?? 20_000;
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = undefined;
      this.hooks.notConnected(`not connected within ${Math.round(ms / 100) / 10} s`);
    }, ms);
  }

  /** Starts the gather deadline unless it is already running. */
  armGather(): void {
    if (this.gatherTimer !== undefined) return;
    const ms = this.limits.gatherTimeoutMs ?? 10_000;
    this.gatherTimer = this.clock.setTimeout(() => {
      this.gatherTimer = undefined;
      this.hooks.noRelay(ms);
    }, ms);
  }

  /** A relay candidate came: the gather deadline is met. */
  clearGather(): void {
    if (this.gatherTimer !== undefined) this.clock.clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
  }

  /** Cancels both (idempotent). */
  clear(): void {
    if (this.connectTimer !== undefined) this.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.clearGather();
  }
}
