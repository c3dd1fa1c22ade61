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
});
