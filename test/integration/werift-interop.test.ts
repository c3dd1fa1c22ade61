/**
 * Interop of werift WITH sigctl's runtime patches applied (issue 5): werift <-> werift,
 * werift <-> node-datachannel (both offer directions) and werift <-> headless Chromium (both
 * directions). Each connection carries 1,000 tiny messages and a 20 MiB transfer that must arrive
 * complete and in order. Real peers on 127.0.0.1; every wait is bounded; every peer is closed.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNdcPeer, createWeriftPeer } from '../../bench/werift-engines.js';
import type { BenchChannel } from '../../bench/werift-engines.js';
import { applyWeriftPatches, WERIFT_PATCH_NAMES } from '../../src/peer/patches/index.js';
import { ChromiumPeer, collect, connectPair, sendSequence } from '../helpers/werift-interop.js';
import { within } from '../helpers/within.js';
import { requires } from '../helpers/requires.js';

const TINY = 1000;
const BIG_MESSAGES = 1280; // x 16 KiB = 20 MiB
const BIG_SIZE = 16 * 1024;

const opened: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(peer: T): T {
  opened.push(peer);
  return peer;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => within(p.close(), 5000, 'close').catch(() => undefined)));
});

beforeAll(() => {
  const report = applyWeriftPatches();
  expect(report.weriftVersion).toBe('0.24.4');
  expect(report.skipped).toEqual([]);
  expect([...report.applied, ...report.alreadyApplied].sort()).toEqual([...WERIFT_PATCH_NAMES].sort());
});

/** 1,000 tiny then 20 MiB from `from` to `to`, checked complete and in order. */
async function tinyThenBig(from: BenchChannel, to: BenchChannel): Promise<void> {
  const tiny = collect(to, TINY);
  await within(sendSequence(from, TINY, 4), 10_000, 'send tiny');
  const gotTiny = await within(tiny.done, 15_000, 'receive tiny');
  expect(gotTiny).toEqual({ messages: TINY, bytes: TINY * 4, inOrder: true });

  const bigOnly = collectFresh(to, BIG_MESSAGES);
  await within(sendSequence(from, BIG_MESSAGES, BIG_SIZE), 40_000, 'send 20 MiB');
  const gotBig = await within(bigOnly, 40_000, 'receive 20 MiB');
  expect(gotBig).toEqual({ messages: BIG_MESSAGES, bytes: BIG_MESSAGES * BIG_SIZE, inOrder: true });
}

/** A second sequence on a channel that already carried one: counts only messages after now. */
function collectFresh(channel: BenchChannel, expect: number): Promise<{ messages: number; bytes: number; inOrder: boolean }> {
  const state = { messages: 0, bytes: 0, inOrder: true };
  return new Promise((resolve) => {
    channel.onMessage((data) => {
      if (typeof data === 'string' || data.length !== BIG_SIZE) return; // the tiny phase is over; ignore stragglers of it
      if (data.readUInt32BE(0) !== state.messages) state.inOrder = false;
      state.messages++;
      state.bytes += data.length;
      if (state.messages === expect) resolve(state);
    });
  });
}

describe('werift with runtime patches', () => {
  it('applyWeriftPatches() is idempotent', () => {
    const again = applyWeriftPatches();
    expect(again.applied).toEqual([]);
    expect([...again.alreadyApplied].sort()).toEqual([...WERIFT_PATCH_NAMES].sort());
  });

  it('werift -> werift: tiny messages, 20 MiB, and an empty message that does not block the channel', async () => {
    const [a, b] = await connectPair(track(createWeriftPeer()), track(createWeriftPeer()));
    await tinyThenBig(a, b);
    const after: Buffer[] = [];
    const got = new Promise<void>((resolve) =>
      b.onMessage((m) => {
        after.push(typeof m === 'string' ? Buffer.from(m) : m);
        if (after.length === 2) resolve();
      }),
    );
    a.send(Buffer.alloc(0));
    a.send(Buffer.from('after-empty'));
    await within(got, 5000, 'message after an empty one');
    expect(after.map((m) => m.toString())).toEqual(['', 'after-empty']);
  }, 60_000);

  it('werift offers, node-datachannel answers: both directions in order', async () => {
    const [w, n] = await connectPair(track(createWeriftPeer()), track(await createNdcPeer()));
    await tinyThenBig(w, n);
    await tinyThenBig(n, w);
  }, 90_000);

  it('node-datachannel offers, werift answers: both directions in order', async () => {
    const [n, w] = await connectPair(track(await createNdcPeer()), track(createWeriftPeer()));
    await tinyThenBig(w, n);
    await tinyThenBig(n, w);
  }, 90_000);
});

describe('werift with runtime patches <-> headless Chromium', requires('chromium'), () => {
  async function chromiumRoundTrip(chrome: ChromiumPeer, w: BenchChannel): Promise<void> {
    const tiny = chrome.received(TINY, 15_000);
    await within(sendSequence(w, TINY, 4), 10_000, 'werift send tiny');
    expect(await tiny).toEqual({ messages: TINY, bytes: TINY * 4, inOrder: true });
    const big = chrome.received(TINY + BIG_MESSAGES, 60_000);
    // The page's counter continues across both phases, so number the big messages after the tiny ones.
    await within(sendNumberedFrom(w, TINY, BIG_MESSAGES, BIG_SIZE), 60_000, 'werift send 20 MiB');
    expect(await big).toEqual({ messages: TINY + BIG_MESSAGES, bytes: TINY * 4 + BIG_MESSAGES * BIG_SIZE, inOrder: true });
    const back = collect(w, TINY);
    await chrome.send(TINY, 4);
    expect(await within(back.done, 15_000, 'werift receive from chromium')).toEqual({ messages: TINY, bytes: TINY * 4, inOrder: true });
  }

  it('werift offers, Chromium answers', async () => {
    const chrome = track(await ChromiumPeer.launch());
    const w = track(createWeriftPeer());
    const offer = await within(w.offer(), 10_000, 'werift offer');
    await within(w.accept(await chrome.answer(offer)), 10_000, 'werift accept');
    const channel = await within(w.channel, 15_000, 'werift channel');
    await chrome.open();
    await chromiumRoundTrip(chrome, channel);
  }, 120_000);

  it('Chromium offers, werift answers', async () => {
    const chrome = track(await ChromiumPeer.launch());
    const w = track(createWeriftPeer());
    const answer = await within(w.answer(await chrome.offer()), 10_000, 'werift answer');
    await chrome.accept(answer);
    const channel = await within(w.channel, 15_000, 'werift channel');
    await chrome.open();
    await chromiumRoundTrip(chrome, channel);
  }, 120_000);
});

/** Like sendSequence, but numbering starts at `first`. */
function sendNumberedFrom(channel: BenchChannel, first: number, count: number, size: number): Promise<void> {
  return sendSequence(channel, count, size, first);
}

