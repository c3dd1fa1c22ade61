/**
 * Patch "dtls-first-flight": no fixed 100 ms sleep before the DTLS ClientHello, and a lost first
 * flight is resent after 10 ms instead of 500 ms.
 *
 * Replaces `RTCDtlsTransport.prototype.start` (werift 0.24.4, webrtc/src/transport/dtls.ts). The
 * original creates the DTLS client and then `await setTimeout(100)` before `connect()`: every
 * connection pays 100 ms for nothing. The sleep exists because the far end's DTLS server may not
 * listen yet when ICE completes here first; a ClientHello sent into that gap is dropped, and
 * werift's flight timer (dtls/src/flight/flight.ts, `Flight.transmit`) first retransmits it after
 * 500 ms.
 *
 * After the patch the ClientHello goes out at once and, while no answer has arrived, is resent at
 * 10, 30, 70, 150 and 310 ms (then werift's own 500 ms, 1.5 s, ... schedule continues). The
 * ClientHello is ~200 bytes; five early copies cost nothing next to a 500 ms stall. Resending the
 * cookieless ClientHello is safe for the server (HelloVerifyRequest is stateless, and werift's
 * server keeps one cookie per session), but werift's client treats a second HelloVerifyRequest
 * as fatal (`Flight3.exec` throws when already in flight 3); the patched start() therefore drops
 * duplicate HelloVerifyRequests before the client's handshake handler sees them.
 * Everything else is the original start() unchanged.
 */
import { DtlsClient, DtlsServer, RTCDtlsTransport, isDtls } from 'werift';
import type { WeriftPatch } from './types.js';

/** Delays (ms after the first send) at which an unanswered ClientHello is resent. */
export const FIRST_FLIGHT_RESENDS_MS: readonly number[] = [10, 30, 70, 150, 310];

interface IceConnectionLike {
  onData: { subscribe(cb: (buf: Buffer) => void): unknown };
  send(data: Buffer): Promise<void>;
  close(): Promise<void> | void;
}

interface DtlsSocketLike {
  dtls: { flight: number };
  connected: boolean;
  transport: { send: (buf: Buffer, addr?: unknown) => Promise<void> | void };
  onHandleHandshakes: (assembled: { msg_type: number }[]) => Promise<void>;
  onData: { subscribe(cb: (buf: Buffer) => void): unknown };
  onClose: { subscribe(cb: () => void): unknown };
  onConnect: { once(cb: () => void): unknown };
  onError: { once(cb: (e: unknown) => void): unknown };
  connect?: () => Promise<void>;
  flight5?: unknown;
  close(): void;
  readonly remoteCertificate: unknown;
}

interface DtlsTransportLike {
  state: string;
  role: string;
  config: { debug?: { inboundPacketLoss?: number } };
  iceTransport: { role: string; connection: IceConnectionLike };
  localCertificate?: { certPem: string; privateKey: string; signatureHash: unknown };
  remoteParameters?: { fingerprints: unknown[] };
  srtpProfiles: number[];
  dtls?: DtlsSocketLike;
  dataReceiver: (buf: Buffer) => void;
  setState(state: string): void;
  verifyRemoteCertificateFingerprint(): void;
  startSrtp(): void;
}

/** The same adapter as werift's (unexported) `IceTransport` in webrtc/src/transport/dtls.ts. */
function createIceTransport(ice: IceConnectionLike): { onData: (buf: Buffer) => void; send: (d: Buffer) => Promise<void>; close(): Promise<void>; closed: boolean; type: string; readonly address: object } {
  const transport = {
    closed: false,
    type: 'ice',
    get address() {
      return {};
    },
    onData: (_buf: Buffer): void => undefined,
    send: (data: Buffer) => ice.send(data),
    async close() {
      transport.closed = true;
      await ice.close();
    },
  };
  ice.onData.subscribe((buf) => {
    if (isDtls(buf)) transport.onData(buf);
  });
  return transport;
}

const HELLO_VERIFY_REQUEST = 3;

/** Resends the client's first flight quickly while nothing has come back; drops duplicate HelloVerifyRequests. */
function speedUpFirstFlight(client: DtlsSocketLike): void {
  const handle = client.onHandleHandshakes;
  client.onHandleHandshakes = (assembled) =>
    handle(assembled.filter((h) => !(h.msg_type === HELLO_VERIFY_REQUEST && client.dtls.flight >= 3)));
  const transport = client.transport;
  const send = transport.send;
  let firstFlight: [Buffer, unknown] | undefined;
  transport.send = (buf, addr) => {
    if (!firstFlight && client.dtls.flight === 1) {
      firstFlight = [buf, addr];
      transport.send = send; // capture only the first send: the ClientHello
      const answered = (): boolean => client.connected || client.dtls.flight !== 1 || client.flight5 !== undefined;
      for (const delay of FIRST_FLIGHT_RESENDS_MS) {
        setTimeout(() => {
          if (answered() || !firstFlight) return;
          Promise.resolve(send(firstFlight[0], firstFlight[1])).catch(() => undefined);
        }, delay).unref();
      }
    }
    return send(buf, addr);
  };
}

/** Replaces RTCDtlsTransport.prototype.start (webrtc/src/transport/dtls.ts). */
async function start(this: DtlsTransportLike): Promise<void> {
  if (this.state !== 'new') throw new Error('state must be new');
  if (!this.remoteParameters || this.remoteParameters.fingerprints.length === 0) throw new Error('remote fingerprint not exist');
  if (this.role === 'auto') this.role = this.iceTransport.role === 'controlling' ? 'server' : 'client';
  this.setState('connecting');
  await new Promise<void>((resolve, reject) => {
    const common = {
      cert: this.localCertificate?.certPem,
      key: this.localCertificate?.privateKey,
      signatureHash: this.localCertificate?.signatureHash,
      transport: createIceTransport(this.iceTransport.connection),
      srtpProfiles: this.srtpProfiles,
      extendedMasterSecret: true,
    };
    type DtlsOptions = ConstructorParameters<typeof DtlsServer>[0];
    const dtls = (
      this.role === 'server'
        ? new DtlsServer({ ...common, certificateRequest: true } as unknown as DtlsOptions)
        : new DtlsClient(common as unknown as DtlsOptions)
    ) as unknown as DtlsSocketLike;
    this.dtls = dtls;
    dtls.onData.subscribe((buf) => {
      const loss = this.config.debug?.inboundPacketLoss;
      if (loss && loss / 100 < Math.random()) return;
      this.dataReceiver(buf);
    });
    dtls.onClose.subscribe(() => {
      if (this.state !== 'failed') this.setState('closed');
    });
    dtls.onConnect.once(resolve);
    dtls.onError.once((error) => {
      this.setState('failed');
      reject(error instanceof Error ? error : new Error(String(error)));
    });
    if (dtls.connect) {
      speedUpFirstFlight(dtls);
      dtls.connect().catch((error: unknown) => {
        this.setState('failed');
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    }
  });
  try {
    this.verifyRemoteCertificateFingerprint();
  } catch (error) {
    this.setState('failed');
    this.dtls?.close();
    throw error;
  }
  if (this.srtpProfiles.length > 0) this.startSrtp();
  this.setState('connected');
}

/** See the module comment. */
export const dtlsFirstFlightPatch: WeriftPatch = {
  name: 'dtls-first-flight',
  summary: 'no fixed 100 ms sleep before the ClientHello; an unanswered first flight is resent at 10/30/70/150/310 ms',
  apply() {
    (RTCDtlsTransport.prototype as unknown as { start: unknown }).start = start;
  },
};
