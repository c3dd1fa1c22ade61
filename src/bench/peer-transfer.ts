/**
 * The bulk transfer and the pings of the throughput scenario, over one BenchChannel per end, the
 * same code for every engine. The two ends run in different workers (threads or processes), so
 * everything the sender learns about the receiver travels on the measured channel itself, as
 * text messages next to the binary bulk data:
 *
 *   sender -> receiver   `end:<n>`          reply once you have received n bulk bytes in all
 *   receiver -> sender   `done:<bytes>:<messages>:<ordered 0|1>`   totals since the channel opened
 *   sender -> receiver   `ping:<seq>:<t>`   echoed unchanged; t is the sender's clock
 *
 * Only bulk data is binary, so the receiver's totals count exactly the bulk bytes. On an ordered
 * channel `end` arrives after the last bulk message, on an unordered one the receiver waits until
 * its total reaches n; a sender that hears nothing within its drain bound asks again with `end:0`
 * (answered at once) to report what did arrive.
 */
import { performance } from 'node:perf_hooks';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import type { BenchChannel } from './engine-types.js';
import { within } from './within.js';
import type { SampleBuffer } from './stats.js';
import type { PairTransfer, TransferCommand } from './peer-messages.js';

const PING = 'ping:';
const END = 'end:';
const DONE = 'done:';
/** How long the sender waits, after its last send, for the receiver to confirm every byte (default). */
const DRAIN_MS = 10_000;

/**
 * The receiving end: counts bulk bytes, echoes pings and answers `end`. Installed when the first
 * peer's channel opens and left in place until the worker closes; returns the listener's remover.
 */
export function serveReceiver(receiver: BenchChannel): () => void {
  let bytes = 0;
  let messages = 0;
  let want: number | undefined;
  const reply = (): void => {
    if (want === undefined || bytes < want || !receiver.isOpen) return;
    want = undefined;
    receiver.send(`${DONE}${bytes}:${messages}:${receiver.ordered ? 1 : 0}`);
  };
  return receiver.onMessage((data) => {
    if (typeof data !== 'string') {
      bytes += data.byteLength;
      messages += 1;
      if (want !== undefined) reply();
    } else if (data.startsWith(PING)) {
      // Pings unchanged: the sender reads its own timestamp back.
      if (receiver.isOpen) receiver.send(data);
    } else if (data.startsWith(END)) {
      const n = Number(data.slice(END.length));
      want = Number.isFinite(n) ? n : 0;
      reply();
    }
  });
}

interface Totals {
  bytes: number;
  messages: number;
  ordered: boolean;
}

function parseDone(data: string): Totals | undefined {
  const [bytes, messages, ordered] = data.slice(DONE.length).split(':').map(Number);
  if (bytes === undefined || messages === undefined || !Number.isFinite(bytes) || !Number.isFinite(messages)) return undefined;
  return { bytes, messages, ordered: ordered === 1 };
}

/** The next `done` from the receiver after sending `end:<want>`; undefined after `ms`. */
function askTotals(sender: BenchChannel, want: number, ms: number): Promise<{ totals: Totals; at: number } | undefined> {
  const answer = within<{ totals: Totals; at: number }>(ms, "the receiver's totals", (resolve) =>
    sender.onMessage((data) => {
      if (typeof data !== 'string' || !data.startsWith(DONE)) return;
      const totals = parseDone(data);
      if (totals !== undefined) resolve({ totals, at: performance.now() });
    }),
  ).catch(() => undefined);
  sender.send(`${END}${want}`);
  return answer;
}

/** Bulk bytes the sender has sent on each channel, across transfers (the receiver's totals are too). */
const sentOn = new WeakMap<BenchChannel, { bytes: number; messages: number }>();

/** Sends bulk data with backpressure for the command's duration, then pings; the pair's figures (never rejects: a failure is `error`). */
export async function runTransfer(pair: number, sender: BenchChannel, cmd: TransferCommand, stop: AbortSignal, rtt: SampleBuffer, drainMs = DRAIN_MS): Promise<Omit<PairTransfer, 'rttMs'>> {
  const out: Omit<PairTransfer, 'rttMs'> = { pair, bytes: 0, messages: 0, ms: 0, maxBufferedBytes: 0, ordered: { sender: sender.ordered, receiver: sender.ordered } };
  const before = sentOn.get(sender) ?? { bytes: 0, messages: 0 };
  const total = { ...before };
  sentOn.set(sender, total);
  try {
    if (stop.aborted) throw new SigctlError('ABORTED', 'closing');
    const payload = Buffer.alloc(cmd.messageSize, 0x62);
    const start = performance.now();
    const end = start + cmd.durationMs;
    while (performance.now() < end && !stop.aborted) {
      await sender.sendWithBackpressure(payload, { signal: stop });
      total.bytes += payload.byteLength;
      total.messages += 1;
      if (sender.bufferedAmount > out.maxBufferedBytes) out.maxBufferedBytes = sender.bufferedAmount;
    }
    // Throughput counts bytes delivered, not queued: wait (bounded) until the receiver has them all.
    let answer = await askTotals(sender, total.bytes, drainMs);
    if (answer === undefined || answer.totals.bytes < total.bytes) {
      out.error = 'TIMEOUT';
      answer ??= await askTotals(sender, 0, 1_000);
    }
    if (answer !== undefined) {
      out.bytes = Math.max(0, answer.totals.bytes - before.bytes);
      out.messages = Math.max(0, answer.totals.messages - before.messages);
      out.ms = Math.max(0, answer.at - start);
      out.ordered = { sender: sender.ordered, receiver: answer.totals.ordered };
    }
    if (out.error === undefined) await pings(sender, cmd, rtt, stop);
  } catch (err) {
    out.error = isSigctlError(err) ? err.code : 'INTERNAL';
  }
  return out;
}

/** Sequential timestamped pings: each waits for its echo (or 1 s) before the next is sent. */
async function pings(sender: BenchChannel, cmd: TransferCommand, rtt: SampleBuffer, stop: AbortSignal): Promise<void> {
  const budgetEnd = performance.now() + cmd.pingBudgetMs;
  for (let seq = 0; seq < cmd.pings && performance.now() < budgetEnd && !stop.aborted; seq++) {
    const tag = `${PING}${seq}:`;
    const echoed = within<number>(1_000, 'a ping echo', (resolve) =>
      sender.onMessage((data) => {
        if (typeof data === 'string' && data.startsWith(tag)) resolve(performance.now() - Number(data.slice(tag.length)));
      }),
    ).catch(() => undefined);
    sender.send(`${tag}${performance.now()}`);
    const ms = await echoed;
    if (ms !== undefined) rtt.push(ms);
  }
}
