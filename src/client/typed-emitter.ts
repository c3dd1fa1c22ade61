/**
 * A small typed event emitter: an events map instead of bare strings (mediasoup's enhancedEvents
 * idea). Unlike node:events, emitting 'error' with no listener does not throw: the signaling client
 * reports non-fatal problems as events, and a library user who does not listen must not crash.
 */

/** Maps an event name to its listener's argument tuple. */
export type EventMap = Record<string, unknown[]>;

/** A listener for event `K` of map `E`. */
export type Listener<E extends EventMap, K extends keyof E> = (...args: E[K]) => void;

/** Typed on/once/off/emit over an events map. */
export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<unknown>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E, K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof E>(event: K, listener: Listener<E, K>): () => void {
    const off = this.on(event, (...args: E[K]) => {
      off();
      listener(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, listener: Listener<E, K>): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** Calls every listener of `event` in registration order; a throwing listener does not stop the others. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<E, K>)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Removes every listener (used by close()). */
  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
