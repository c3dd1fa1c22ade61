/**
 * The throughput scenario's transfer protocol (src/bench/peer-transfer.ts): the sender and the
 * receiver run in different workers and learn about each other only through the measured channel.
 * Here the two ends are joined by an in-memory BenchChannel pair (the bench's own interface, not a
 * stand-in for werift or a socket) that can hold back or drop bulk messages, as an unordered or a
 * broken channel would. The engines themselves are covered by test/integration/bench-*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { BenchChannel } from '../../src/bench/engine-types.js';
import { mergePairs } from '../../src/bench/peers.js';
import type { PairResult, TransferCommand } from '../../src/bench/peer-messages.js';
import { runTransfer, serveReceiver } from '../../src/bench/peer-transfer.js';
import { SampleBuffer } from '../../src/bench/stats.js';

type Data = string | Buffer;

/** One end of a linked pair; delivery is asynchronous (setImmediate), in order unless `hold` says otherwise. */
class LinkedEnd implements BenchChannel {
  peer!: LinkedEnd;
  isOpen = true;
  bufferedAmount = 0;
  /** Binary messages to hold back (delivered on release()) or to drop, by 1-based count. */
  hold = new Set<number>();
  drop = new Set<number>();
  private binaries = 0;
  private held: Buffer[] = [];
  private readonly listeners = new Set<(d: Data) => void>();

  constructor(readonly ordered: boolean) {}

  send(data: Data): void {
    if (typeof data !== 'string') {
      this.binaries++;
      if (this.drop.has(this.binaries)) return;
      if (this.hold.has(this.binaries)) {
        this.held.push(data);
        return;
      }
    }
    setImmediate(() => this.peer.deliver(data));
  }

  release(): void {
    for (const d of this.held.splice(0)) setImmediate(() => this.peer.deliver(d));
  }

  sendWithBackpressure(data: Buffer): Promise<void> {
    this.send(data);
    // Yield like a real channel draining its queue.
    return new Promise((resolve) => setImmediate(resolve));
  }

  onMessage(listener: (d: Data) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private deliver(data: Data): void {
    for (const l of [...this.listeners]) l(data);
  }
}

function linked(ordered: boolean): { sender: LinkedEnd; receiver: LinkedEnd } {
  const sender = new LinkedEnd(ordered);
  const receiver = new LinkedEnd(ordered);
  sender.peer = receiver;
  receiver.peer = sender;
  return { sender, receiver };
}

const cmd = (over: Partial<TransferCommand> = {}): TransferCommand => ({ type: 'transfer', durationMs: 30, messageSize: 1024, pings: 5, pingBudgetMs: 2_000, ...over });

describe('throughput transfer protocol (sender and receiver in different workers)', () => {
  it('counts every byte the receiver confirms, measures RTT by echoed pings, and reports both ends’ ordering', async () => {
    const { sender, receiver } = linked(true);
    const off = serveReceiver(receiver);
    try {
      const rtt = new SampleBuffer(5);
      const out = await runTransfer(0, sender, cmd(), new AbortController().signal, rtt);
      expect(out.error).toBeUndefined();
      expect(out.messages).toBeGreaterThan(0);
      expect(out.bytes).toBe(out.messages * 1024);
      expect(out.ms).toBeGreaterThan(0);
      expect(out.ordered).toEqual({ sender: true, receiver: true });
      expect(rtt.toArray()).toHaveLength(5);
    } finally {
      off();
    }
  });

  it('on an unordered channel, waits for bulk data that arrives after the end marker', async () => {
    const { sender, receiver } = linked(false);
    sender.hold = new Set([1, 2]);
    const off = serveReceiver(receiver);
    try {
      // The held messages arrive only after the end marker (sent at the end of the 30 ms); a
      // receiver that answered before they came would leave the sender short (TIMEOUT).
      setTimeout(() => sender.release(), 60);
      const out = await runTransfer(0, sender, cmd({ pings: 0 }), new AbortController().signal, new SampleBuffer(1));
      expect(out.error).toBeUndefined();
      expect(out.bytes).toBe(out.messages * 1024);
      expect(out.ordered).toEqual({ sender: false, receiver: false });
    } finally {
      off();
    }
  });

  it('reports TIMEOUT with the bytes that did arrive when some never do', async () => {
    const { sender, receiver } = linked(true);
    sender.drop = new Set([2]);
    const off = serveReceiver(receiver);
    try {
      const out = await runTransfer(0, sender, cmd({ pings: 0 }), new AbortController().signal, new SampleBuffer(1), 200);
      expect(out.error).toBe('TIMEOUT');
      expect(out.messages).toBeGreaterThan(0);
      expect(out.bytes).toBe(out.messages * 1024);
    } finally {
      off();
    }
  });

  it('a second transfer on the same channel counts only its own bytes', async () => {
    const { sender, receiver } = linked(true);
    const off = serveReceiver(receiver);
    try {
      const first = await runTransfer(0, sender, cmd({ pings: 0 }), new AbortController().signal, new SampleBuffer(1));
      const second = await runTransfer(0, sender, cmd({ pings: 0 }), new AbortController().signal, new SampleBuffer(1));
      expect(first.error).toBeUndefined();
      expect(second.error).toBeUndefined();
      expect(second.bytes).toBe(second.messages * 1024);
      expect(second.messages).toBeGreaterThan(0);
    } finally {
      off();
    }
  });

  it('an aborted transfer sends nothing and says ABORTED', async () => {
    const { sender, receiver } = linked(true);
    const off = serveReceiver(receiver);
    try {
      const stop = new AbortController();
      stop.abort();
      const out = await runTransfer(0, sender, cmd(), stop.signal, new SampleBuffer(1));
      expect(out).toMatchObject({ error: 'ABORTED', bytes: 0, messages: 0 });
    } finally {
      off();
    }
  });
});

describe('merging the two sides of each pair', () => {
  const result = (pair: number, ok: boolean, error?: string): PairResult => ({
    pair,
    room: `r${pair}`,
    ok,
    ...(error === undefined ? {} : { error, detail: `${error} detail` }),
    at: { wsConnected: 1, joined: 2, offerSent: 3, answerReceived: 4, iceConnected: 5, dtlsConnected: 6, channelOpen: 7 },
    candidatePair: null,
    urls: ['ws://a', 'ws://b'],
  });

  it("keeps the newcomer's timeline and fails a pair when either peer failed", () => {
    const merged = mergePairs([result(1, true), result(0, true), result(2, false, 'ICE_FAILED'), result(3, true)], [result(0, true), result(1, false, 'TIMEOUT'), result(2, true)]);
    expect(merged.map((p) => [p.pair, p.ok, p.error])).toEqual([
      [0, true, undefined],
      [1, false, 'TIMEOUT'],
      [2, false, 'ICE_FAILED'],
      [3, false, 'INTERNAL'],
    ]);
    expect(merged[1]!.detail).toBe('TIMEOUT detail');
    expect(merged[0]!.at.channelOpen).toBe(7);
  });

  it("names the first peer's error for a newcomer that was not started because of it", () => {
    const merged = mergePairs([result(0, false, 'ABORTED'), result(1, false, 'ABORTED')], [result(0, false, 'SERVER_UNREACHABLE'), result(1, true)]);
    expect(merged.map((p) => [p.pair, p.ok, p.error])).toEqual([
      [0, false, 'SERVER_UNREACHABLE'],
      [1, false, 'ABORTED'],
    ]);
  });
});
