/**
 * Reaches werift's internal classes through objects the package does export.
 *
 * werift's package.json "exports" only exposes "." and "./nonstandard", and `import 'werift'` loads
 * one ESM bundle (lib/index.mjs) whose SCTP association class and SCTP chunk classes are not
 * exported. Deep imports (werift/lib/sctp/...) would load the separate CommonJS build, whose classes
 * are different objects from the ones the bundle uses, so patching them would change nothing.
 *
 * Instead we build a throwaway `RTCSctpTransport` (exported), hand it an inert stand-in for a DTLS
 * transport so it constructs its `SCTP`, and take the prototype of that instance. The probe starts
 * no timers and opens no sockets; it is marked closed so nothing it holds can transmit.
 */
import { RTCSctpTransport } from 'werift';
import type { ChunkLike, DataChunkLike, SackChunkLike, SctpLike } from './internals.js';

/** The internal werift classes the patches need. */
export interface WeriftInternals {
  /** `SCTP.prototype` from werift's bundle. */
  readonly sctpProto: SctpLike;
  /** The `DataChunk` constructor (`new DataChunk(0, undefined)`). */
  readonly DataChunk: new (flags: number, body: Buffer | undefined) => DataChunkLike;
  /** The `SackChunk` constructor (`new SackChunk(0, undefined)`). */
  readonly SackChunk: new (flags: number, body: Buffer | undefined) => SackChunkLike;
  /** Names of patches installed so far (patches that depend on each other look here). */
  readonly installed: Set<string>;
}

interface ProbeTransport {
  sctp: SctpLike & { isClosed: boolean; sendResetRequest(streamId: number): Promise<void> };
  eventDisposer: (() => void)[];
  setDtlsTransport(dtls: unknown): void;
}

let cached: WeriftInternals | undefined;

/** Builds (once) and returns handles on werift's unexported SCTP internals. */
export function reachWeriftInternals(): WeriftInternals {
  if (cached) return cached;
  const probe = new RTCSctpTransport() as unknown as ProbeTransport;
  const inertDtls = {
    id: 'sigctl-probe',
    dataReceiver: (): void => undefined,
    onStateChange: { subscribe: () => ({ unSubscribe: (): void => undefined }) },
    sendData: (): Promise<void> => Promise.resolve(),
  };
  probe.setDtlsTransport(inertDtls);
  const sctp = probe.sctp;
  const sctpProto = Object.getPrototypeOf(sctp) as SctpLike;
  // sendSack() builds a SackChunk and hands it to sendChunk() synchronously; an instance-level
  // sendChunk captures it instead of sending.
  let sack: ChunkLike | undefined;
  const capture = sctp as unknown as { sendChunk: (c: ChunkLike) => Promise<void> };
  capture.sendChunk = (c) => {
    sack = c;
    return Promise.resolve();
  };
  sctp.sackNeeded = true;
  sctp.lastReceivedTsn = 0;
  sctp.sendSack().catch(() => undefined);
  if (!sack) throw new Error('werift internals: could not obtain a SackChunk');
  const SackChunk = sack.constructor as WeriftInternals['SackChunk'];
  // sendResetRequest() builds a DataChunk and queues it synchronously; a closed association never
  // transmits it (transmit() returns at once when isStopped), so the promise settles without effect.
  sctp.isClosed = true;
  sctp.sendResetRequest(0).catch(() => undefined);
  const chunk = sctp.outboundQueue[0];
  if (!chunk) throw new Error('werift internals: could not obtain a DataChunk');
  const DataChunk = chunk.constructor as WeriftInternals['DataChunk'];
  sctp.outboundQueue = [];
  for (const dispose of probe.eventDisposer) dispose();
  cached = { sctpProto, DataChunk, SackChunk, installed: new Set<string>() };
  return cached;
}
