/**
 * One event-loop turn's cross-node publishes, grouped into as few PUBLISHes as order allows.
 *
 * An envelope goes either on its room's channel or on one node's own channel (redis-channels.ts).
 * A node channel's batch may carry envelopes of many rooms, which is what makes it cheap: every
 * signal of a turn for one node is one PUBLISH and one subscriber message, whatever their rooms.
 *
 * The invariant: the envelopes of one room leave in the order they were added. The batches are
 * kept in one ordered list and published in that order on one connection; an envelope joins the
 * newest batch of its channel only when no batch holding an envelope of its room comes after it,
 * otherwise it opens a new batch at the end. So directed d1, broadcast b1, directed d2 of one room
 * in one turn make three batches (node, room, node), never (d1 d2) before b1.
 */
import type { Envelope } from './store.js';

/** Where a batch goes: a room's channel (`room` set) or a node's own channel (`node` set). */
export type BatchRoute = { readonly channel: string; readonly room: string; readonly node?: undefined } | { readonly channel: string; readonly node: string; readonly room?: undefined };

/** Envelopes for one PUBLISH, in order, with their callers. */
export interface Batch<W> {
  readonly route: BatchRoute;
  readonly envelopes: Envelope[];
  readonly waiters: W[];
  /** Position in the turn's list (publish order). */
  readonly index: number;
}

/**
 * The batches of the turn being filled (see the module comment).
 *
 * Most turns have one batch: every signal of the turn for the one other node. While there is one,
 * every envelope joins it (no later batch exists to keep a room's order against), so the maps
 * are made only when a second one opens: three map operations per signal fewer on the common
 * path, and no maps made per turn.
 */
export class TurnBatches<W> {
  private list: Array<Batch<W>> = [];
  /** The newest batch of each channel (kept from the second batch of a turn on). */
  private byChannel: Map<string, Batch<W>> | undefined;
  /** The newest batch holding an envelope of each room (kept from the second batch of a turn on). */
  private byRoom: Map<string, Batch<W>> | undefined;

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Adds `envelope` (with its caller) to the turn, on `route`. */
  add(route: BatchRoute, envelope: Envelope, waiter: W): void {
    const list = this.list;
    if (list.length === 0) {
      list.push({ route, envelopes: [envelope], waiters: [waiter], index: 0 });
      return;
    }
    let byChannel = this.byChannel;
    let byRoom = this.byRoom;
    if (byChannel === undefined || byRoom === undefined) {
      const only = list[0]!;
      if (only.route === route || only.route.channel === route.channel) {
        only.envelopes.push(envelope);
        only.waiters.push(waiter);
        return;
      }
      byChannel = this.byChannel = new Map([[only.route.channel, only]]);
      // The first batch's rooms need no entry: a room whose newest batch is the first never
      // comes after the batch it is added to.
      byRoom = this.byRoom = new Map();
    }
    let batch = byChannel.get(route.channel);
    const last = byRoom.get(envelope.room);
    if (batch === undefined || (last !== undefined && last.index > batch.index)) {
      batch = { route, envelopes: [], waiters: [], index: list.length };
      list.push(batch);
      byChannel.set(route.channel, batch);
    }
    batch.envelopes.push(envelope);
    batch.waiters.push(waiter);
    byRoom.set(envelope.room, batch);
  }

  /** The turn's batches in publish order; the next add starts a new turn. */
  take(): Array<Batch<W>> {
    const out = this.list;
    this.list = [];
    this.byChannel = undefined;
    this.byRoom = undefined;
    return out;
  }
}
