/**
 * What a test started that is not a server or a client (Resources has those): a TURN server, a
 * peer connection, a child process. Each is registered as it is made and undone after the test
 * in reverse order, every one of them even when an earlier one throws.
 *
 *   const cleanups = new Cleanups();
 *   afterEach(() => cleanups.run());
 *   const turn = cleanups.add(await startCoturn(), (t) => t.stop());
 */
export class Cleanups {
  private readonly undo: Array<() => unknown> = [];

  /** Registers `undo(value)` for after the test and returns `value`. */
  add<T>(value: T, undo: (value: T) => unknown): T {
    this.undo.push(() => undo(value));
    return value;
  }

  /** Undoes everything registered, newest first; rethrows the first failure after all have run. */
  async run(): Promise<void> {
    let first: unknown;
    let failed = false;
    for (const fn of this.undo.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        if (!failed) first = err;
        failed = true;
      }
    }
    if (failed) throw first;
  }
}
