/**
 * The server's own life cycle, in one place (the connection and member life cycles are the hub's):
 *
 *   starting --> serving --> draining --> closing --> closed
 *       \            \_______________________/^
 *        \________________________________/
 *
 * - starting: binding the port; a failure goes straight to closing (the teardown undoes what was made).
 * - serving: upgrades accepted, /readyz 200 (while the store is up).
 * - draining: `bye` sent, upgrades refused (503), joins refused (SHUTTING_DOWN), /readyz 503.
 * - closing: the one teardown runs (./teardown.ts); closed: it finished.
 *
 * Invariants: every change goes through `transition`, which throws on a move the table does not
 * allow (a bug); a phase is never re-entered; `drained` stays true once draining began, so the
 * server still reports it while closing.
 */

/** A phase of the server. */
export type ServerPhaseName = 'starting' | 'serving' | 'draining' | 'closing' | 'closed';

const TRANSITIONS: Readonly<Record<ServerPhaseName, readonly ServerPhaseName[]>> = {
  starting: ['serving', 'closing'],
  serving: ['draining', 'closing'],
  draining: ['closing'],
  closing: ['closed'],
  closed: [],
};

/** True when the server may move from `from` to `to`. */
export function canTransition(from: ServerPhaseName, to: ServerPhaseName): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The phase of one server. */
export class ServerPhase {
  private phase: ServerPhaseName = 'starting';
  private drainBegan = false;
  private resolveClosing!: () => void;
  private readonly closingBegan = new Promise<void>((resolve) => (this.resolveClosing = resolve));

  get current(): ServerPhaseName {
    return this.phase;
  }

  /** True once draining began (also while closing after a drain). */
  get drained(): boolean {
    return this.drainBegan;
  }

  /** True from closing on: the teardown has begun. */
  get closing(): boolean {
    return this.phase === 'closing' || this.phase === 'closed';
  }

  /** Moves to `to`; throws when the table does not allow it. */
  transition(to: ServerPhaseName): void {
    if (!canTransition(this.phase, to)) throw new Error(`server phase: ${this.phase} -> ${to} is not a valid transition`);
    this.phase = to;
    if (to === 'draining') this.drainBegan = true;
    if (to === 'closing') this.resolveClosing();
  }

  /** Resolves when the teardown begins (at once if it has). */
  untilClosing(): Promise<void> {
    return this.closingBegan;
  }
}
