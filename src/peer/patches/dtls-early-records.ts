/**
 * Patch "dtls-early-records": a DTLS ClientHello that arrives before werift's DTLS server exists
 * is kept and replayed to the server when it starts, instead of dropped.
 *
 * werift 0.24.4 creates its DTLS endpoint in `RTCDtlsTransport.start()` (webrtc/src/transport/
 * dtls.ts), which runs only once werift's own ICE has a nominated pair; until then the ICE
 * `Connection` (ice/src/ice.ts) hands received non-STUN datagrams to `onData`, which nobody
 * listens to. When werift offers (`a=setup:actpass`) and the far end answers `setup:active`
 * (libdatachannel does), the far end is the DTLS client: its ICE agent may consider the pair usable
 * after one successful check (libjuice does) and send its ClientHello at once, while werift's ICE
 * is still waiting for the answer to come back through the signaling server. That ClientHello is
 * dropped, and OpenSSL sends it again only after its 1 s timer: measured, offer -> channel open
 * took ~1.2 s instead of tens of milliseconds.
 *
 * libwebrtc handles the same race by keeping an early ClientHello (`cached_client_hello_` in
 * p2p/dtls/dtls_transport.cc) and replaying it when the DTLS role is known. The patch does the
 * same: every `Connection` keeps the DTLS records (RFC 7983: first byte 20-63) it receives before
 * its DTLS transport starts, at most EARLY_DTLS_DATAGRAMS datagrams and EARLY_DTLS_BYTES bytes
 * (the most recent win: a retransmitted ClientHello replaces the first). `start()` takes them: as
 * the DTLS server it replays them, right after the server subscribed, through the connection's
 * own `onData` (the path a live datagram takes); as the client it drops them (a server does not
 * speak first, so anything buffered is stale). Nothing else changes.
 */
import { Connection, RTCDtlsTransport, isDtls } from 'werift';
import type { WeriftPatch } from './types.js';

/** Most datagrams kept per connection before its DTLS transport starts. */
export const EARLY_DTLS_DATAGRAMS = 4;
/** Most bytes kept per connection before its DTLS transport starts (a ClientHello is ~200-600). */
export const EARLY_DTLS_BYTES = 8 * 1024;

interface EarlyBuffer {
  datagrams: Buffer[];
  bytes: number;
}

interface ConnectionLike {
  onData: { subscribe(cb: (buf: Buffer) => void): unknown; execute(buf: Buffer): void };
  /** Added by this patch: records kept until the DTLS transport starts; null once it has. */
  sigctlEarlyDtls?: EarlyBuffer | null;
}

interface DtlsTransportLike {
  role: string;
  iceTransport: { connection: ConnectionLike };
}

/** Keeps `buf` in `early`, evicting the oldest datagrams beyond the bounds. */
export function keepEarlyRecord(early: EarlyBuffer, buf: Buffer): void {
  if (buf.length > EARLY_DTLS_BYTES) return;
  early.datagrams.push(buf);
  early.bytes += buf.length;
  while (early.datagrams.length > EARLY_DTLS_DATAGRAMS || early.bytes > EARLY_DTLS_BYTES) {
    early.bytes -= early.datagrams.shift()?.length ?? 0;
  }
}

/** Starts buffering early DTLS records on `connection` (once per connection). */
function watchConnection(connection: ConnectionLike): void {
  if (connection.sigctlEarlyDtls !== undefined) return;
  const early: EarlyBuffer = { datagrams: [], bytes: 0 };
  connection.sigctlEarlyDtls = early;
  connection.onData.subscribe((buf) => {
    if (connection.sigctlEarlyDtls === early && isDtls(buf)) keepEarlyRecord(early, buf);
  });
}

/** Takes what `connection` buffered and stops buffering for good. */
function takeEarlyRecords(connection: ConnectionLike): Buffer[] {
  const early = connection.sigctlEarlyDtls;
  connection.sigctlEarlyDtls = null;
  return early?.datagrams ?? [];
}

/** See the module comment. */
export const dtlsEarlyRecordsPatch: WeriftPatch = {
  name: 'dtls-early-records',
  summary: 'a DTLS ClientHello that arrives before the DTLS server starts is replayed to it, not dropped (no 1 s OpenSSL retransmit when the far end is the DTLS client)',
  apply() {
    const conn = Connection.prototype as unknown as { ensureProtocol: (this: ConnectionLike, protocol: unknown) => void };
    const ensureProtocol = conn.ensureProtocol;
    if (typeof ensureProtocol !== 'function') throw new Error('Connection.prototype.ensureProtocol is not a function');
    // ensureProtocol runs for every local socket as gathering creates it: before any datagram can arrive.
    conn.ensureProtocol = function (this: ConnectionLike, protocol: unknown): void {
      ensureProtocol.call(this, protocol);
      watchConnection(this);
    };
    const dtls = RTCDtlsTransport.prototype as unknown as { start: (this: DtlsTransportLike) => Promise<void> };
    const start = dtls.start;
    dtls.start = function (this: DtlsTransportLike): Promise<void> {
      const connection = this.iceTransport.connection;
      const early = takeEarlyRecords(connection);
      // start() creates the DTLS endpoint and subscribes it to connection.onData synchronously,
      // before its first await, and settles its role (auto -> client/server) on the way.
      const started = start.call(this);
      if (this.role === 'server') for (const buf of early) connection.onData.execute(buf);
      return started;
    };
  },
};
