/**
 * The listening socket: the HTTP or HTTPS server (TLS when `tls.cert` and `tls.key` are set), bound
 * to `host:port`, and the URLs it answers on. Port 0 works: after `listen()` the URLs carry the
 * port the system chose. A bind or TLS failure is SigctlError(LISTEN_FAILED).
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { SigctlError } from '../protocol/errors.js';

/** The server's listening socket and its URLs. */
export interface Listener {
  readonly server: Server;
  readonly tls: boolean;
  /** The bound port (the configured one until `listen()` resolves). */
  readonly port: number;
  readonly listening: boolean;
  /** HTTP base URL, e.g. http://127.0.0.1:8080. */
  httpUrl(): string;
  /** WebSocket URL, e.g. ws://127.0.0.1:8080/ws. */
  wsUrl(): string;
  /** Binds `host:port`; rejects with LISTEN_FAILED. */
  listen(): Promise<void>;
  /** Drops every connection and stops listening; resolves once the server is closed. Idempotent. */
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Creates the (not yet listening) HTTP(S) server of `config`; rejects with LISTEN_FAILED for unreadable TLS files. */
export async function createListener(config: Readonly<Config>, logger: Logger): Promise<Listener> {
  const tls = config.tls.cert !== undefined && config.tls.key !== undefined;
  // Node's own header and request timeouts match the handshake timeout (guardConnections reaps
  // half-sent upgrades; these bound plain HTTP requests), checked often enough to matter.
  const handshakeMs = config.limits.handshakeTimeoutMs;
  const httpOptions = { headersTimeout: handshakeMs, requestTimeout: handshakeMs, connectionsCheckingInterval: Math.min(handshakeMs, 1000) };
  let server: Server;
  try {
    server = tls
      ? createHttpsServer({ ...httpOptions, handshakeTimeout: handshakeMs, cert: await readFile(config.tls.cert!), key: await readFile(config.tls.key!) })
      : createHttpServer(httpOptions);
  } catch (err) {
    throw new SigctlError('LISTEN_FAILED', `cannot load TLS files: ${(err as Error).message}`, { cause: err });
  }
  let port = config.port;
  let listening = false;
  let closing: Promise<void> | undefined;
  const base = (scheme: string): string => `${scheme}${tls ? 's' : ''}://${hostForUrl(config.host)}:${port}`;
  return {
    server,
    tls,
    get port() {
      return port;
    },
    get listening() {
      return listening;
    },
    httpUrl: () => base('http'),
    wsUrl: () => `${base('ws')}${config.path}`,
    listen: () =>
      new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          reject(new SigctlError('LISTEN_FAILED', `cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`, { cause: err }));
        };
        server.once('error', onError);
        server.listen(config.port, config.host, () => {
          server.off('error', onError);
          server.on('error', (err) => logger.error({ err }, 'server error'));
          listening = true;
          const address = server.address();
          if (address !== null && typeof address === 'object') port = address.port;
          resolve();
        });
      }),
    close: () => {
      closing ??= listening
        ? new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          })
        : Promise.resolve();
      return closing;
    },
  };
}
