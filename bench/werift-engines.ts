/**
 * Minimal, engine-neutral peer adapters for the werift measurement scripts (bench/werift-*.ts).
 *
 * Signaling is non-trickle: each side waits for ICE gathering to complete and hands over one SDP,
 * so the scripts can pass descriptions over a child_process IPC channel. Loopback only.
 *
 * Channels are src/bench's BenchChannel (the one definition, engine-types.ts): sendWithBackpressure
 * sends while bufferedAmount + the message fits in `maxBuffered` and otherwise waits for the
 * stack's bufferedAmountLow at half of it.
 */
import { RTCPeerConnection } from 'werift';
import { processDtlsKeys } from '../src/peer/werift-factory.js';
import type { RTCDataChannel } from 'werift';
import type * as NodeDataChannel from 'node-datachannel';
import type { BenchChannel } from '../src/bench/engine-types.js';

/** Which stack a bench process runs. */
export type EngineName = 'werift' | 'node-datachannel';

export type { BenchChannel };

/** What a channel's backpressure waits for: bufferedAmount + a message at most this (the old pump's --max-buffered). */
export const DEFAULT_MAX_BUFFERED = 256 * 1024;

/** One peer connection with one data channel ("bench"). */
export interface BenchPeer {
  /** Offerer: creates the channel, returns the complete offer SDP (all candidates). */
  offer(): Promise<string>;
  /** Answerer: applies the offer, returns the complete answer SDP. */
  answer(offerSdp: string): Promise<string>;
  /** Offerer: applies the answer. */
  accept(answerSdp: string): Promise<void>;
  /** Resolves when the channel is open on this side. */
  readonly channel: Promise<BenchChannel>;
  close(): Promise<void>;
  /** Timestamped state changes (werift only), for diagnosing slow connections. */
  readonly trace: string[];
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * sendWithBackpressure over a stack's own bufferedAmount and low-water event: sends at once while
 * the message fits under `maxBuffered`, else waits for the event (set at half of it) or the abort.
 */
function backpressured(
  send: (data: Buffer) => void,
  buffered: () => number,
  onLow: (threshold: number, wake: () => void) => void,
  maxBuffered: number,
): BenchChannel['sendWithBackpressure'] {
  const waiters = new Set<() => void>();
  onLow(maxBuffered / 2, () => {
    for (const w of [...waiters]) w();
  });
  return async (data, { signal }) => {
    // A message larger than the bound goes once the queue is empty, so it cannot wait forever.
    while (buffered() > 0 && buffered() + data.length > maxBuffered) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          waiters.delete(wake);
          reject(signal!.reason as Error);
        };
        const wake = (): void => {
          waiters.delete(wake);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        waiters.add(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    send(data);
  };
}

/** A message as a Buffer (the scripts send binary, but a stack may hand text up). */
function asBuffer(m: string | Buffer | ArrayBuffer | Uint8Array): Buffer {
  return typeof m === 'string' ? Buffer.from(m) : Buffer.isBuffer(m) ? m : Buffer.from(m as Uint8Array);
}

function wrapWerift(dc: RTCDataChannel, maxBuffered: number): BenchChannel {
  const send = (data: string | Buffer): void => dc.send(typeof data === 'string' ? Buffer.from(data) : data);
  return {
    get isOpen() {
      return dc.readyState === 'open';
    },
    get bufferedAmount() {
      return dc.bufferedAmount;
    },
    get ordered() {
      return dc.ordered;
    },
    send,
    sendWithBackpressure: backpressured(
      send,
      () => dc.bufferedAmount,
      (threshold, wake) => {
        dc.bufferedAmountLowThreshold = threshold;
        dc.bufferedAmountLow.subscribe(wake);
      },
      maxBuffered,
    ),
    onMessage: (listener) => {
      const { unSubscribe } = dc.onMessage.subscribe((m) => listener(asBuffer(m)));
      return unSubscribe;
    },
  };
}

/** A werift peer bound to 127.0.0.1 only; `dropPercent` drops that share of outgoing DTLS records. */
export function createWeriftPeer(options: { dropPercent?: number; maxBuffered?: number } = {}): BenchPeer {
  const maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceAdditionalHostAddresses: ['127.0.0.1'],
    // The certificate sigctl's peers use (src/peer/certificate.ts), so interop tests cover it.
    dtls: { keys: { ...processDtlsKeys() } },
    // werift's debug option keeps a record when random() < value/100, i.e. the value is the share KEPT.
    ...(options.dropPercent ? { debug: { outboundPacketLoss: 100 - options.dropPercent } } : {}),
  });
  const open = deferred<BenchChannel>();
  const trace: string[] = [];
  const t0 = performance.now();
  const mark = (what: string): void => {
    trace.push(`${(performance.now() - t0).toFixed(1)}ms ${what}`);
  };
  pc.iceConnectionStateChange.subscribe((s) => mark(`ice:${s}`));
  pc.connectionStateChange.subscribe((s) => mark(`pc:${s}`));
  pc.iceGatheringStateChange.subscribe((s) => mark(`gather:${s}`));
  const watch = (dc: RTCDataChannel): void => {
    dc.stateChanged.subscribe((s) => mark(`dc:${s}`));
    // Wrapped once: the wrapper subscribes to the channel's events.
    let wrapped: BenchChannel | undefined;
    const opened = (): void => open.resolve((wrapped ??= wrapWerift(dc, maxBuffered)));
    if (dc.readyState === 'open') opened();
    dc.stateChanged.subscribe((s) => {
      if (s === 'open') opened();
    });
  };
  const gathered = async (): Promise<string> => {
    if (pc.iceGatheringState !== 'complete') {
      await withTimeout(
        new Promise<void>((resolve) => {
          pc.iceGatheringStateChange.subscribe((s) => {
            if (s === 'complete') resolve();
          });
        }),
        5000,
        'werift ICE gathering',
      );
    }
    const sdp = pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    return sdp;
  };
  return {
    trace,
    channel: open.promise,
    async offer() {
      watch(pc.createDataChannel('bench'));
      await pc.setLocalDescription(await pc.createOffer());
      return gathered();
    },
    async answer(offerSdp) {
      pc.onDataChannel.subscribe(watch);
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await pc.setLocalDescription(await pc.createAnswer());
      return gathered();
    },
    async accept(answerSdp) {
      await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    },
    async close() {
      await withTimeout(pc.close(), 3000, 'werift close').catch(() => undefined);
    },
  };
}

type Ndc = typeof NodeDataChannel;
type NdcChannel = ReturnType<InstanceType<Ndc['PeerConnection']>['createDataChannel']>;

function wrapNdc(dc: NdcChannel, maxBuffered: number): BenchChannel {
  const send = (data: string | Buffer): void => {
    if (typeof data === 'string') dc.sendMessage(data);
    else dc.sendMessageBinary(data);
  };
  const listeners = new Set<(data: Buffer) => void>();
  // libdatachannel keeps one callback per event: fan it out.
  dc.onMessage((m) => {
    const data = asBuffer(m);
    for (const l of [...listeners]) l(data);
  });
  return {
    get isOpen() {
      return dc.isOpen();
    },
    get bufferedAmount() {
      return dc.bufferedAmount();
    },
    // The scripts open their channels with libdatachannel's default, reliable and ordered.
    ordered: true,
    send,
    sendWithBackpressure: backpressured(
      send,
      () => dc.bufferedAmount(),
      (threshold, wake) => {
        dc.setBufferedAmountLowThreshold(threshold);
        dc.onBufferedAmountLow(wake);
      },
      maxBuffered,
    ),
    onMessage: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A libdatachannel peer (npm node-datachannel, optional dependency) bound to 127.0.0.1. */
export async function createNdcPeer(options: { maxBuffered?: number } = {}): Promise<BenchPeer> {
  const maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  const ndc: Ndc = await import('node-datachannel');
  const pc = new ndc.PeerConnection('bench', { iceServers: [], bindAddress: '127.0.0.1' });
  const open = deferred<BenchChannel>();
  const keep: NdcChannel[] = [];
  const watch = (dc: NdcChannel): void => {
    keep.push(dc);
    // Wrapped once: libdatachannel keeps one callback per event, and the wrapper sets them.
    let wrapped: BenchChannel | undefined;
    const opened = (): void => open.resolve((wrapped ??= wrapNdc(dc, maxBuffered)));
    if (dc.isOpen()) opened();
    dc.onOpen(opened);
  };
  const gathered = (): Promise<string> =>
    withTimeout(
      new Promise<string>((resolve, reject) => {
        const check = (): void => {
          if (pc.gatheringState() !== 'complete') return;
          const d = pc.localDescription();
          if (d) resolve(d.sdp);
          else reject(new Error('no local description'));
        };
        pc.onGatheringStateChange(check);
        check();
      }),
      5000,
      'libdatachannel ICE gathering',
    );
  return {
    trace: [],
    channel: open.promise,
    async offer() {
      const g = gathered();
      watch(pc.createDataChannel('bench'));
      return g;
    },
    async answer(offerSdp) {
      pc.onDataChannel(watch);
      const g = gathered();
      pc.setRemoteDescription(offerSdp, 'offer');
      return g;
    },
    accept(answerSdp) {
      pc.setRemoteDescription(answerSdp, 'answer');
      return Promise.resolve();
    },
    close() {
      for (const dc of keep) dc.close();
      pc.close();
      return Promise.resolve();
    },
  };
}

/** Creates a peer of the given engine. */
export function createBenchPeer(engine: EngineName, options: { dropPercent?: number; maxBuffered?: number } = {}): Promise<BenchPeer> {
  return engine === 'werift' ? Promise.resolve(createWeriftPeer(options)) : createNdcPeer(options);
}
