import { describe, expect, it } from 'vitest';
import { TurnBatches, type BatchRoute } from '../../src/store/redis-batches.js';
import type { Envelope } from '../../src/store/store.js';

const roomCh = (room: string): BatchRoute => ({ channel: `ch:${room}`, room });
const nodeCh = (node: string): BatchRoute => ({ channel: `nodech:${node}`, node });
const env = (room: string, frame: string): Envelope => ({ room, frame, origin: 'a', queue: true });

/** What the receiving side gets, in publish order: each batch's channel and frames. */
function shape(b: TurnBatches<string>): Array<[string, string[]]> {
  return b.take().map((x) => [x.route.channel, x.envelopes.map((e) => e.frame)]);
}

describe('one turn of cross-node publishes (TurnBatches)', () => {
  it('keeps a room in order across its channel and a node channel: d1, b1, d2 stay three batches in that order', () => {
    const b = new TurnBatches<string>();
    b.add(nodeCh('x'), env('r', 'd1'), 'w1');
    b.add(roomCh('r'), env('r', 'b1'), 'w2');
    b.add(nodeCh('x'), env('r', 'd2'), 'w3');
    expect(shape(b)).toEqual([
      ['nodech:x', ['d1']],
      ['ch:r', ['b1']],
      ['nodech:x', ['d2']],
    ]);
  });

  it('merges a node channel batch across rooms, and a room channel batch, when order allows', () => {
    const b = new TurnBatches<string>();
    b.add(nodeCh('x'), env('r1', 'a1'), 'w');
    b.add(nodeCh('x'), env('r2', 'b1'), 'w');
    b.add(roomCh('r3'), env('r3', 'c1'), 'w');
    b.add(nodeCh('x'), env('r1', 'a2'), 'w');
    b.add(roomCh('r3'), env('r3', 'c2'), 'w');
    b.add(nodeCh('y'), env('r4', 'd1'), 'w');
    expect(shape(b)).toEqual([
      ['nodech:x', ['a1', 'b1', 'a2']],
      ['ch:r3', ['c1', 'c2']],
      ['nodech:y', ['d1']],
    ]);
  });

  it('a room that moved on to a later batch never joins an earlier one of the same channel', () => {
    const b = new TurnBatches<string>();
    b.add(nodeCh('x'), env('r1', 'a1'), 'w');
    b.add(roomCh('r1'), env('r1', 'a2'), 'w');
    b.add(nodeCh('x'), env('r2', 'b1'), 'w'); // r2 has no later batch: joins the first x batch
    b.add(nodeCh('x'), env('r1', 'a3'), 'w'); // r1 does: a new x batch after its room batch
    b.add(nodeCh('x'), env('r2', 'b2'), 'w'); // r2's newest is the first x batch: the newest x batch is later, fine
    expect(shape(b)).toEqual([
      ['nodech:x', ['a1', 'b1']],
      ['ch:r1', ['a2']],
      ['nodech:x', ['a3', 'b2']],
    ]);
  });

  it('keeps every room in order whatever the interleaving (randomised against the order added)', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const b = new TurnBatches<number>();
      const added: Record<string, string[]> = {};
      for (let i = 0; i < 30; i++) {
        const room = `r${rnd(4)}`;
        const route = rnd(2) === 0 ? roomCh(room) : nodeCh(`n${rnd(2)}`);
        b.add(route, env(room, `${room}-${i}`), i);
        (added[room] ??= []).push(`${room}-${i}`);
      }
      const batches = b.take();
      const received: Record<string, string[]> = {};
      for (const x of batches) for (const e of x.envelopes) (received[e.room] ??= []).push(e.frame);
      expect(received).toEqual(added);
      // Every waiter is in the batch of its envelope.
      expect(batches.flatMap((x) => x.waiters).sort((p, q) => p - q)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(b.empty).toBe(true);
    }
  });

  it('makes the batches the map-per-turn version made, one batch or many (randomised)', () => {
    // The earlier TurnBatches.add, kept as the reference: maps from the first envelope on.
    const reference = (adds: Array<[BatchRoute, Envelope]>): Array<[string, string[]]> => {
      const list: Array<{ route: BatchRoute; frames: string[]; index: number }> = [];
      const byChannel = new Map<string, (typeof list)[number]>();
      const byRoom = new Map<string, (typeof list)[number]>();
      for (const [route, e] of adds) {
        let batch = byChannel.get(route.channel);
        const last = byRoom.get(e.room);
        if (batch === undefined || (last !== undefined && last.index > batch.index)) {
          batch = { route, frames: [], index: list.length };
          list.push(batch);
          byChannel.set(route.channel, batch);
        }
        batch.frames.push(e.frame);
        byRoom.set(e.room, batch);
      }
      return list.map((x) => [x.route.channel, x.frames]);
    };
    let seed = 11;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // The same route object each time for a node, as RoomChannels.nodeRoute gives it; room routes are new objects.
    const nodes = [nodeCh('n0'), nodeCh('n1')];
    const b = new TurnBatches<string>();
    for (let round = 0; round < 300; round++) {
      const adds: Array<[BatchRoute, Envelope]> = [];
      // Mostly one node's signals, as in the common turn; now and then another channel.
      const n = 1 + rnd(12);
      for (let i = 0; i < n; i++) {
        const room = `r${rnd(5)}`;
        const pick = rnd(10);
        adds.push([pick < 7 ? nodes[0]! : pick < 9 ? roomCh(room) : nodes[1]!, env(room, `${room}-${i}`)]);
      }
      for (const [route, e] of adds) b.add(route, e, e.frame);
      const batches = b.take();
      expect(batches.map((x) => [x.route.channel, x.envelopes.map((e) => e.frame)])).toEqual(reference(adds));
      for (const x of batches) expect(x.waiters).toEqual(x.envelopes.map((e) => e.frame));
      expect(batches.map((x) => x.index)).toEqual(batches.map((_, i) => i));
    }
  });
});

