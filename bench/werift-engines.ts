/**
 * Minimal, engine-neutral peer adapters for the werift measurement scripts (bench/werift-*.ts).
 *
 * Signaling is non-trickle: each side waits for ICE gathering to complete and hands over one SDP,
 * so the scripts can pass descriptions over a child_process IPC channel. Loopback only.
 */
import { RTCPeerConnection } from 'werift';
import { processDtlsKeys } from '../src/peer/werift-factory.js';
import type { RTCDataChannel } from 'werift';
import type * as NodeDataChannel from 'node-datachannel';

/** Which stack a bench process runs. */
export type EngineName = 'werift' | 'node-datachannel';

/** An open data channel, reduced to what the throughput scenario needs. */
export interface BenchChannel {
  send(data: Buffer): void;
  bufferedAmount(): number;
  /** Calls `cb` whenever bufferedAmount falls to or below `threshold`. */
  onLow(threshold: number, cb: () => void): void;
  onMessage(cb: (data: Buffer) => void): void;
}

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

function wrapWerift(dc: RTCDataChannel): BenchChannel {
  return {
    send: (data) => dc.send(data),
    bufferedAmount: () => dc.bufferedAmount,
    onLow: (threshold, cb) => {
      dc.bufferedAmountLowThreshold = threshold;
      dc.bufferedAmountLow.subscribe(cb);
    },
    onMessage: (cb) => {
      dc.onMessage.subscribe((m) => cb(typeof m === 'string' ? Buffer.from(m) : m));
    },
  };
}

/** A werift peer bound to 127.0.0.1 only; `dropPercent` drops that share of outgoing DTLS records. */
export function createWeriftPeer(options: { dropPercent?: number } = {}): BenchPeer {
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
    if (dc.readyState === 'open') open.resolve(wrapWerift(dc));
    dc.stateChanged.subscribe((s) => {
      if (s === 'open') open.resolve(wrapWerift(dc));
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

function wrapNdc(dc: NdcChannel): BenchChannel {
  return {
    send: (data) => {
      dc.sendMessageBinary(data);
    },
    bufferedAmount: () => dc.bufferedAmount(),
    onLow: (threshold, cb) => {
      dc.setBufferedAmountLowThreshold(threshold);
      dc.onBufferedAmountLow(cb);
    },
    onMessage: (cb) => {
      dc.onMessage((m) => cb(typeof m === 'string' ? Buffer.from(m) : Buffer.from(m as Uint8Array)));
    },
  };
}

/** A libdatachannel peer (npm node-datachannel, optional dependency) bound to 127.0.0.1. */
export async function createNdcPeer(): Promise<BenchPeer> {
  const ndc: Ndc = await import('node-datachannel');
  const pc = new ndc.PeerConnection('bench', { iceServers: [], bindAddress: '127.0.0.1' });
  const open = deferred<BenchChannel>();
  const keep: NdcChannel[] = [];
  const watch = (dc: NdcChannel): void => {
    keep.push(dc);
    if (dc.isOpen()) open.resolve(wrapNdc(dc));
    dc.onOpen(() => open.resolve(wrapNdc(dc)));
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
export function createBenchPeer(engine: EngineName, options: { dropPercent?: number } = {}): Promise<BenchPeer> {
  return engine === 'werift' ? Promise.resolve(createWeriftPeer(options)) : createNdcPeer();
}
