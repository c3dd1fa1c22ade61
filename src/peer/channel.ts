/**
 * A data channel as sigctl uses it: guarded send (werift facts: an empty message blocks an ordered
 * channel forever; 64 KiB is the largest message) and backpressure on bufferedAmount through
 * werift's `bufferedAmountLow` event (werift has no `onbufferedamountlow`).
 */
import type { RTCDataChannel } from 'werift';
import { SigctlError } from '../protocol/errors.js';

/** Largest message werift accepts (SCTP max-message-size it advertises). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * Keep at most this much queued. werift slows down several times when bufferedAmount grows to MiBs;
 * ~256 KiB keeps the SCTP window full on loopback and LAN.
 */
export const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/** The parts of werift's SCTP association that delivered() reads (private in werift's typings). */
interface AssociationView {
  outboundQueue?: unknown;
  flightSize?: unknown;
}

/** A received message: text or binary. */
export type ChannelData = string | Buffer;

/** The data channel to one remote peer. */
export class PeerChannel {
  /** The werift channel (escape hatch for benchmarks; prefer the methods below). */
  readonly raw: RTCDataChannel;
  private closedFlag = false;

  constructor(raw: RTCDataChannel) {
    this.raw = raw;
    raw.stateChanged.subscribe((state) => {
      if (state === 'closed' || state === 'closing') this.closedFlag = true;
    });
  }

  get label(): string {
    return this.raw.label;
  }

  get isOpen(): boolean {
    return !this.closedFlag && this.raw.readyState === 'open';
  }

  get bufferedAmount(): number {
    return this.raw.bufferedAmount;
  }

  /**
   * Sends one message now. Throws USAGE for an empty or oversize message, CONNECTION_LOST when the
   * channel is not open.
   */
  send(data: ChannelData): void {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (size === 0) throw new SigctlError('USAGE', 'refusing to send an empty data-channel message (it would block an ordered werift channel)');
    if (size > MAX_MESSAGE_BYTES) throw new SigctlError('USAGE', `data-channel message of ${size} bytes exceeds ${MAX_MESSAGE_BYTES}`);
    if (!this.isOpen) throw new SigctlError('CONNECTION_LOST', `data channel ${this.label} is not open`);
    this.raw.send(data);
  }

  /**
   * Sends one message after waiting until at most `highWaterMark` bytes are queued. Use this in any
   * loop that sends more than a few messages (file transfer, throughput benchmarks).
   */
  async sendWithBackpressure(data: ChannelData, options: { highWaterMark?: number; signal?: AbortSignal } = {}): Promise<void> {
    const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    if (this.raw.bufferedAmount > hwm) await this.drained(Math.floor(hwm / 2), options.signal);
    this.send(data);
  }

  /** Resolves when bufferedAmount is at or below `threshold`; rejects if the channel closes or `signal` aborts. */
  drained(threshold = 0, signal?: AbortSignal): Promise<void> {
    if (this.raw.bufferedAmount <= threshold) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.raw.bufferedAmountLowThreshold = threshold;
      const done = (err?: SigctlError): void => {
        low.unSubscribe();
        state.unSubscribe();
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = (): void => done(new SigctlError('ABORTED', 'aborted while waiting for the data channel to drain'));
      const low = this.raw.bufferedAmountLow.subscribe(() => {
        if (this.raw.bufferedAmount <= threshold) done();
      });
      const state = this.raw.stateChanged.subscribe((s) => {
        if (s === 'closed' || s === 'closing') done(new SigctlError('CONNECTION_LOST', `data channel ${this.label} closed while sending`));
      });
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Resolves true once everything sent so far has reached the far end: the channel's buffer is
   * empty and the SCTP association has nothing queued or unacknowledged (the far end's SACK came
   * back). bufferedAmount 0 alone only means "handed to SCTP": closing the peer connection then
   * (an SCTP ABORT) or exiting the process can still lose the last message. Resolves false when
   * `timeoutMs` passes or the channel closes first.
   */
  async delivered(timeoutMs = 2_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const drained = this.drained(0).then(
        () => true,
        () => false,
      );
      const ok = await Promise.race([
        drained,
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      if (!ok) return false;
      while (this.isOpen) {
        if (this.associationIdle()) return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await new Promise((resolve) => setTimeout(resolve, Math.min(10, left)));
      }
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Nothing queued or in flight on the association (werift 0.24.4 internals; see src/peer/patches). */
  private associationIdle(): boolean {
    const sctp = (this.raw.sctp as unknown as { sctp?: AssociationView } | undefined)?.sctp;
    // Unknown shape (another werift): no way to tell, so report idle rather than wait in vain.
    if (sctp === undefined || !Array.isArray(sctp.outboundQueue) || typeof sctp.flightSize !== 'number') return true;
    return sctp.outboundQueue.length === 0 && sctp.flightSize === 0;
  }

  /** Adds a message listener; returns a function that removes it. */
  onMessage(listener: (data: ChannelData) => void): () => void {
    const sub = this.raw.onMessage.subscribe((data) => listener(data));
    return () => sub.unSubscribe();
  }
}
