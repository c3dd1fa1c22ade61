/**
 * The HTTP upgrade: every check happens here, before the WebSocket exists (ws README "Client
 * authentication"): path, drain, browser origin, token, connections per address. A refused
 * upgrade gets a JSON body `{"error":{"code","message"}}` with the catalogue's HTTP status for
 * its code (src/protocol/errors.ts): no status is chosen here.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import type { Authenticator, Principal } from '../auth/principal.js';
import { findToken } from '../auth/token-source.js';
import { isSigctlError, type ErrorCode } from '../protocol/errors.js';
import { offeredProtocols, type Edge, type Route } from './compat/routes.js';
import { errorResponseText } from './http.js';
import type { ClientAddress } from './client-address.js';
import type { ConnectionCounter } from './rate-limit.js';
import { redactRequestUrl } from './redact.js';

/** Answers an upgrade request with an HTTP error (the catalogue's status for `code`) instead of switching protocols. */
export function refuseUpgrade(socket: Duplex, code: ErrorCode, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(errorResponseText(code, message));
}

/** The message of a 429 for too many connections from one address. */
export function tooManyFrom(max: number, ip: string): string {
  return `more than ${max} connections (open or still upgrading) from ${ip}`;
}

/**
 * Refuses a connection at accept, before its request is read: 429 and the end of the socket, which
 * stops reading (the request is never parsed) and is destroyed if the peer does not close first.
 */
export function refuseConnection(socket: Duplex, code: ErrorCode, message: string): void {
  refuseUpgrade(socket, code, message);
  socket.pause();
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** What the upgrade checks need from the server. */
export interface UpgradeOptions {
  maxConnectionsPerIp: number;
  logger: Logger;
  authenticator: Authenticator;
  checkOrigin: (origin: string | undefined) => boolean;
  perIp: ConnectionCounter;
  /** True while draining or closed: upgrades get 503. */
  refusing: () => boolean;
  baseUrl: () => string;
  /** The client's address (behind trusted proxies: from X-Forwarded-For); keys per-IP limits and logs. */
  clientAddress: ClientAddress;
  wss: WebSocketServer;
  /** Which protocol a request speaks (compat/routes.ts). */
  route: (pathname: string, offered: readonly string[]) => Route;
  /** Takes over an accepted socket; `release` frees its per-address slot when it closes. */
  accept: (ws: WebSocket, ip: string, principal: Principal, edge: Edge, needsToken: boolean) => void;
  /** The socket's handshake is over (it is a WebSocket now): stop its handshake timer. */
  handshakeDone: (socket: Duplex) => void;
}

/** The principal of a STOMP socket whose token comes in CONNECT: allowed nothing until then. */
const PENDING: Principal = Object.freeze({ canSend: false, room: '' });

/** The server's 'upgrade' listener. */
export function createUpgradeHandler(o: UpgradeOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const handle = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    // Already refused at accept (too many connections from its address) or timed out.
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const onError = (): void => {
      socket.destroy();
    };
    socket.on('error', onError);
    const url = new URL(req.url ?? '/', o.baseUrl());
    const ip = o.clientAddress(req);
    const log = o.logger.child({ ip, url: redactRequestUrl(req.url) });
    const route = o.route(url.pathname, offeredProtocols(req.headers['sec-websocket-protocol']));
    if (!route.ok) return refuseUpgrade(socket, route.code, route.message);
    const edge = route.edge;
    if (o.refusing()) return refuseUpgrade(socket, 'SHUTTING_DOWN', 'the server is shutting down');
    if (!o.checkOrigin(req.headers.origin)) {
      log.info({ event: 'refused', origin: req.headers.origin }, 'origin not allowed');
      return refuseUpgrade(socket, 'FORBIDDEN', `origin ${JSON.stringify(req.headers.origin)} is not allowed`);
    }
    let principal: Principal;
    // STOMP clients may send their token in CONNECT instead (stompjs connectHeaders).
    const needsToken = edge.kind === 'stomp' && o.authenticator.required && 'missing' in findToken(req, url);
    try {
      principal = needsToken ? PENDING : await o.authenticator.authenticate(req, url);
    } catch (err) {
      const code = isSigctlError(err) ? err.code : 'INTERNAL';
      const message = err instanceof Error ? err.message : String(err);
      log.info({ event: 'refused', code }, message);
      return refuseUpgrade(socket, code, message);
    }
    // Authentication may have taken a while (JWKS fetch): check again. The handshake timeout may
    // have closed the socket meanwhile; its 'close' has fired, so no slot may be taken for it.
    if (socket.destroyed) return;
    if (o.refusing()) return refuseUpgrade(socket, 'SHUTTING_DOWN', 'the server is shutting down');
    if (!o.perIp.acquire(ip)) {
      log.warn({ event: 'refused' }, 'too many connections from this address');
      return refuseUpgrade(socket, 'RATE_LIMITED', tooManyFrom(o.maxConnectionsPerIp, ip));
    }
    // A handshake ws rejects (bad key, bad version) never reaches accept: free the slot then.
    const onClose = (): void => o.perIp.release(ip);
    socket.once('close', onClose);
    o.wss.handleUpgrade(req, socket, head, (ws) => {
      // From here the WebSocket handles its socket's errors and close (and the server frees the
      // slot): drop our listeners rather than keep two closures for the socket's whole life.
      socket.off('close', onClose);
      socket.off('error', onError);
      o.handshakeDone(socket);
      o.accept(ws, ip, principal, edge, needsToken);
    });
  };
  return (req, socket, head) => {
    handle(req, socket, head).catch((err: unknown) => {
      o.logger.error({ err }, 'upgrade failed');
      refuseUpgrade(socket, 'INTERNAL', 'internal error');
    });
  };
}
