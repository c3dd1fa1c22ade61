/**
 * Collects the room events (src/server/room-events.ts) a server emits, with bounded waits.
 */
import type { RoomEvent, RoomEventSink } from '../../src/server/room-events.js';
import { within } from './server-harness.js';

/** A room event and the node (label) that emitted it. */
export type Emitted = RoomEvent & { node: string };

/** Every event of one or more servers, in the order they were emitted. */
export class EventLog {
  readonly events: Emitted[] = [];
  private waiters: Array<() => void> = [];

  /** The sink to give a server (ServerDeps.events); `node` labels its events. */
  sink(node: string): RoomEventSink {
    return (e) => {
      this.events.push({ ...e, node });
      for (const w of [...this.waiters]) w();
    };
  }

  /** Resolves once an event matching `match` has been emitted (bounded by `ms`). */
  waitFor(what: string, match: (e: Emitted) => boolean, ms = 3000): Promise<Emitted> {
    let waiter: (() => void) | undefined;
    const found = new Promise<Emitted>((resolve) => {
      waiter = () => {
        const e = this.events.find(match);
        if (e !== undefined) resolve(e);
      };
      this.waiters.push(waiter);
      waiter();
    });
    return within(found, ms, `room event: ${what}`).finally(() => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    });
  }

  /** The events of `room`, as `type` or `type:reason` strings. */
  kinds(room: string): string[] {
    return this.events.filter((e) => e.room === room).map((e) => (e.type === 'member.left' ? `${e.type}:${e.reason}` : e.type));
  }
}
