/**
 * Connections that have not become WebSockets yet (slowloris defence). From TCP accept (TLS: the
 * end of the TLS handshake, whose own length tls.Server's `handshakeTimeout` bounds) a connection
 * has `limits.handshakeTimeoutMs` to upgrade and receive `welcome`, or it is destroyed; and while
 * pending it counts against `limits.maxConnectionsPerIp` together with the address's open
 * WebSockets, so one address cannot hold more sockets half-open than it may hold open.
 *
 * A connection leaves the pending set when it is upgraded, when it carries a plain HTTP request
 * (health checks, metrics: Node's own request and keep-alive timeouts bound those), or when it
 * closes. Pending connections are counted by the TCP peer's address.
 */
import { maxHeaderSize, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorResponseText } from './http.js';
import { refuseConnection, tooManyFrom } from './upgrade.js';

/** What PendingHandshakes needs from the server. */
export interface PendingHandshakesOptions {
  timeoutMs: number;
  maxPerIp: number;
  /** Open WebSockets of an address (the server's per-address counter). */
  openFrom: (ip: string) => number;
  logger: Logger;
}

interface Pending {
  ip: string;
  timer: NodeJS.Timeout;
  onClose: () => void;
}

/** The pending-handshake set of one server. */
export class PendingHandshakes {
  private readonly pending = new Map<Duplex, Pending>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly o: PendingHandshakesOptions) {}

  /** Pending connections from `ip`. */
  count(ip: string): number {
    return this.byIp.get(ip) ?? 0;
  }

  /**
   * A new connection: true when it is admitted (now pending, its timer running); false when its
   * address already holds `maxPerIp` connections, pending and open together.
   */
  admit(socket: Socket): boolean {
    const ip = socket.remoteAddress ?? 'unknown';
    if (this.count(ip) + this.o.openFrom(ip) >= this.o.maxPerIp) return false;
    const timer = setTimeout(() => {
      this.o.logger.debug({ event: 'handshake-timeout', ip, timeoutMs: this.o.timeoutMs }, 'closing a connection that did not upgrade in time');
      socket.destroy();
    }, this.o.timeoutMs);
    timer.unref();
    const onClose = (): void => this.settle(socket);
    socket.once('close', onClose);
    this.pending.set(socket, { ip, timer, onClose });
    this.byIp.set(ip, this.count(ip) + 1);
    return true;
  }

  /** The connection upgraded, carried a plain HTTP request, or closed: it is no longer pending. */
  settle(socket: Duplex): void {
    const p = this.pending.get(socket);
    if (p === undefined) return;
    this.pending.delete(socket);
    clearTimeout(p.timer);
    socket.off('close', p.onClose);
    const n = this.count(p.ip) - 1;
    if (n <= 0) this.byIp.delete(p.ip);
    else this.byIp.set(p.ip, n);
  }

  /** Stops every timer (the server is closing; its sockets are destroyed separately). */
  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.byIp.clear();
  }
}

/**
 * Installs the accept-time guards on `server` and returns its pending set: every new connection is
 * admitted into PendingHandshakes or refused (429), a plain HTTP request settles its connection,
 * and a request Node cannot parse gets a JSON error body like every other refusal (431 TOO_LARGE
 * for headers over Node's limit, e.g. a 100 KB token; 400 BAD_MESSAGE otherwise).
 */
export function guardConnections(server: Server, o: PendingHandshakesOptions & { tls: boolean }): PendingHandshakes {
  const pending = new PendingHandshakes(o);
  server.on(o.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    if (pending.admit(socket)) return;
    const ip = socket.remoteAddress ?? 'unknown';
    o.logger.warn({ event: 'refused', ip }, 'too many connections from this address');
    refuseConnection(socket, 'RATE_LIMITED', tooManyFrom(o.maxPerIp, ip));
  });
  // A plain HTTP request is not a pending upgrade: Node's request and keep-alive timeouts bound it.
  server.on('request', (req: IncomingMessage) => pending.settle(req.socket));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // Node's headersTimeout/requestTimeout: a slow sender is not owed an answer.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    o.logger.debug({ event: 'bad-request', code: err.code }, 'unparsable HTTP request');
    socket.end(
      tooLarge
        ? errorResponseText('TOO_LARGE', `the request headers exceed the server's limit of ${maxHeaderSize} bytes (a token that long is not accepted)`)
        : errorResponseText('BAD_MESSAGE', 'the HTTP request could not be parsed'),
    );
  });
  // TLS handshake failures must not reach the process as unhandled errors.
  server.on('tlsClientError', (err) => o.logger.debug({ err }, 'tls handshake failed'));
  return pending;
}
