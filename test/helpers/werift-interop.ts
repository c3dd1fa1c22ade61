/**
 * Shared pieces of the werift interop tests: in-order transfers over any BenchChannel, and a
 * headless Chromium peer driven through playwright-core.
 */
import type { Page } from 'playwright-core';
import { openServedPage, type ServedPage } from './chromium.js';
import { within } from './within.js';
import type { BenchChannel, BenchPeer } from '../../bench/werift-engines.js';

/** Connects offerer -> answerer (non-trickle) and resolves both open channels. */
export async function connectPair(offerer: BenchPeer, answerer: BenchPeer): Promise<[BenchChannel, BenchChannel]> {
  const offer = await within(offerer.offer(), 10_000, 'offer');
  const answer = await within(answerer.answer(offer), 10_000, 'answer');
  await within(offerer.accept(answer), 10_000, 'accept');
  return within(Promise.all([offerer.channel, answerer.channel]), 15_000, 'channels open');
}

/** What a receiver saw of a sequence-numbered stream. */
export interface Received {
  messages: number;
  bytes: number;
  inOrder: boolean;
}

/** Counts sequence-numbered messages (uint32 BE at offset 0) arriving on `channel`. */
export function collect(channel: BenchChannel, expectMessages: number): { done: Promise<Received>; state: Received } {
  const state: Received = { messages: 0, bytes: 0, inOrder: true };
  let resolve!: (r: Received) => void;
  const done = new Promise<Received>((r) => (resolve = r));
  channel.onMessage((m) => {
    const data = typeof m === 'string' ? Buffer.from(m) : m;
    if (data.length < 4 || data.readUInt32BE(0) !== state.messages) state.inOrder = false;
    state.messages++;
    state.bytes += data.length;
    if (state.messages === expectMessages) resolve(state);
  });
  return { done, state };
}

/** Sends `count` messages of `size` bytes (>= 4, sequence-numbered), with the channel's backpressure (bench/werift-engines.ts). */
export async function sendSequence(channel: BenchChannel, count: number, size: number, first = 0): Promise<void> {
  for (let next = 0; next < count; next++) {
    const msg = Buffer.alloc(size);
    msg.writeUInt32BE(first + next, 0);
    await channel.sendWithBackpressure(msg, {});
  }
}

/** A page served from http://127.0.0.1 with one RTCPeerConnection and one data channel. */
export class ChromiumPeer {
  private constructor(private readonly served: ServedPage) {}

  get page(): Page {
    return this.served.page;
  }

  /** Launches Chromium (test/helpers/chromium.ts) and opens the test page. */
  static async launch(): Promise<ChromiumPeer> {
    const served = await openServedPage((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>werift interop</title>');
    });
    try {
      await within(served.page.evaluate(BROWSER_SETUP), 10_000, 'the test page set up');
      return new ChromiumPeer(served);
    } catch (error) {
      await served.close();
      throw error;
    }
  }

  /** Creates the channel and returns the complete offer SDP. */
  offer(): Promise<string> {
    return within(this.page.evaluate<string>('window.t.offer()'), 10_000, 'chromium offer');
  }
  answer(offerSdp: string): Promise<string> {
    return within(this.page.evaluate<string>(`window.t.answer(${JSON.stringify(offerSdp)})`), 10_000, 'chromium answer');
  }
  async accept(answerSdp: string): Promise<void> {
    await within(this.page.evaluate(`window.t.accept(${JSON.stringify(answerSdp)})`), 10_000, 'chromium accept');
  }
  async open(): Promise<void> {
    await within(this.page.evaluate('window.t.open'), 15_000, 'chromium channel open');
  }
  /** Waits until the page has received `messages` messages; returns what it saw. */
  received(messages: number, ms: number): Promise<Received> {
    return within(this.page.evaluate<Received>(`window.t.waitFor(${messages})`), ms, 'chromium receive');
  }
  /** Makes the page send `count` sequence-numbered messages of `size` bytes with backpressure. */
  async send(count: number, size: number): Promise<void> {
    await within(this.page.evaluate(`window.t.send(${count}, ${size})`), 30_000, 'chromium send');
  }
  close(): Promise<void> {
    return this.served.close();
  }
}

// Runs in the page. Plain JavaScript (a string) so it is not transpiled or type-checked as Node code.
const BROWSER_SETUP = `(() => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const state = { messages: 0, bytes: 0, inOrder: true };
  let waiters = [];
  let openResolve;
  const open = new Promise((r) => (openResolve = r));
  let dc;
  const watch = (channel) => {
    dc = channel;
    dc.binaryType = 'arraybuffer';
    dc.onopen = () => openResolve();
    if (dc.readyState === 'open') openResolve();
    dc.onmessage = (e) => {
      const data = e.data instanceof ArrayBuffer ? e.data : new TextEncoder().encode(e.data).buffer;
      if (data.byteLength < 4 || new DataView(data).getUint32(0) !== state.messages) state.inOrder = false;
      state.messages++;
      state.bytes += data.byteLength;
      waiters = waiters.filter((w) => !w());
    };
  };
  pc.ondatachannel = (e) => watch(e.channel);
  const gathered = () => new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r(pc.localDescription.sdp);
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(pc.localDescription.sdp);
  });
  window.t = {
    open,
    async offer() { watch(pc.createDataChannel('bench')); await pc.setLocalDescription(); return gathered(); },
    async answer(sdp) { await pc.setRemoteDescription({ type: 'offer', sdp }); await pc.setLocalDescription(); return gathered(); },
    async accept(sdp) { await pc.setRemoteDescription({ type: 'answer', sdp }); },
    waitFor(n) { return new Promise((r) => { const w = () => state.messages >= n && (r({ ...state }), true); if (!w()) waiters.push(w); }); },
    send(count, size) { return new Promise((resolve) => {
      let next = 0;
      dc.bufferedAmountLowThreshold = 128 * 1024;
      const fill = () => {
        while (next < count && dc.bufferedAmount + size <= 256 * 1024) {
          const buf = new ArrayBuffer(size);
          new DataView(buf).setUint32(0, next++);
          dc.send(buf);
        }
        if (next === count) resolve();
      };
      dc.onbufferedamountlow = fill;
      fill();
    }); },
  };
})()`;
