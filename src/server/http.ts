/**
 * The plain-HTTP side of the port: /healthz (alive), /readyz (accepting: not draining, store up),
 * /metrics (Prometheus), /v1/nodes, /v1/ice-servers (the same list `welcome` carries), the
 * browser app at / (./web.ts) when enabled. A plain request to the WebSocket path gets 426;
 * everything else 404. Statuses follow the error code
 * (`httpStatus` in the catalogue).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/principal.js';
import { httpStatus, isSigctlError, type ErrorCode } from '../protocol/errors.js';
import type { IceServer } from '../protocol/messages.js';
import { serveAdmin, type AdminRoute } from './admin.js';
import type { ServerMetrics } from './metrics.js';
import { redactRequestUrl } from './redact.js';
import type { WebApp } from './web.js';

/** What the HTTP handler reads from the server. */
export interface HttpContext {
  metrics: ServerMetrics;
  logger: Logger;
  authenticator: Authenticator;
  isDraining: () => boolean;
  storeHealthy: () => boolean;
  /** ICE servers for an HTTP caller identified by `user` (token subject or a random id). */
  iceServers: (user: string | undefined) => IceServer[];
  /** Called before the metrics text is rendered, to refresh gauges. */
  refreshGauges: () => void;
  /** Live nodes with their load (just this one without a shared store). */
  nodes: () => Promise<readonly unknown[]>;
  baseUrl: () => URL;
  /** The WebSocket path (config.path): a plain request there gets 426 Upgrade Required. */
  wsPath: string;
  /** The browser app (./web.ts) when `web.enabled`; tried for paths no endpoint answers. */
  web?: WebApp | undefined;
  /** The admin API (./admin.ts): /v1/rooms and below, any method. */
  admin?: readonly AdminRoute[] | undefined;
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** The JSON error body used by HTTP responses and refused upgrades. */
export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/** Sends the JSON error body with the status the catalogue gives `code`. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  sendJson(res, httpStatus(code), errorBody(code, message));
}

/** HTTP status for an authentication failure. */
export function authStatus(code: ErrorCode): number {
  return httpStatus(code);
}

/** The server's 'request' listener (every non-upgrade request). */
export function createRequestHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', ctx.baseUrl());
    if (ctx.admin !== undefined && (await serveAdmin(ctx.admin, req, res, url))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendError(res, 'METHOD_NOT_ALLOWED', `method ${req.method ?? '?'} not allowed`);
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const draining = ctx.isDraining();
        const store = ctx.storeHealthy();
        const ready = !draining && store;
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', draining, store: store ? 'up' : 'down' });
        return;
      }
      case '/metrics': {
        ctx.refreshGauges();
        const text = await ctx.metrics.text();
        res.writeHead(200, { 'content-type': ctx.metrics.contentType });
        res.end(text);
        return;
      }
      case '/v1/nodes':
        sendJson(res, 200, { nodes: await ctx.nodes() });
        return;
      case '/v1/ice-servers': {
        let user: string | undefined;
        if (ctx.authenticator.required) {
          try {
            user = (await ctx.authenticator.authenticate(req, url)).sub;
          } catch (err) {
            const code = isSigctlError(err) ? err.code : 'INTERNAL';
            sendError(res, code, err instanceof Error ? err.message : String(err));
            return;
          }
        }
        sendJson(res, 200, { iceServers: ctx.iceServers(user) });
        return;
      }
      default:
        if (ctx.web?.handle(req, res, url.pathname) === true) return;
        if (url.pathname === ctx.wsPath) {
          // RFC 9110 section 15.5.22: 426 names the protocol to switch to.
          res.setHeader('upgrade', 'websocket');
          res.setHeader('connection', 'Upgrade');
          sendError(res, 'UPGRADE_REQUIRED', `${url.pathname} is the WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)`);
        } else {
          sendError(res, 'NOT_FOUND', `no such endpoint: ${url.pathname}`);
        }
    }
  };
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      ctx.logger.error({ err, url: redactRequestUrl(req.url) }, 'http handler failed');
      if (!res.headersSent) sendError(res, 'INTERNAL', 'internal error');
      else res.destroy();
    });
  };
}
