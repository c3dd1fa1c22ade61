/**
 * The plain-HTTP side of the port: a route table and the responses every route shares. The routes
 * are a list the wiring passes in (./routes.ts has the built-in ones: /healthz, /readyz, /metrics,
 * /v1/nodes, /v1/ice-servers); a path no route serves is tried against the browser app at /
 * (./web.ts) when enabled; a plain request to the WebSocket path gets 426; everything else 404. A
 * path a route serves, asked with a method it does not answer, gets 405 with `allow`. Statuses of
 * refusals follow the error code (`httpStatus` in the catalogue).
 *
 * Adding a route: write an `HttpRoute` (exact `path`, or a RegExp whose named groups arrive as
 * `params`; `methods`, GET by default) and add it to the list `startServer` passes here.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { httpStatus, type ErrorCode } from '../protocol/errors.js';
import { redactRequestUrl } from './redact.js';
import type { WebApp } from './web.js';

/** A method a route can answer. HEAD is answered wherever GET is (Node sends no body for it). */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route handler gets besides the request and response. */
export interface RouteMatch {
  /** The request URL, parsed against the server's base URL. */
  url: URL;
  /** The named groups of a RegExp `path` (decoded as the pathname holds them, i.e. still %-encoded). */
  params: Readonly<Record<string, string>>;
}

/** One entry of the route table. */
export interface HttpRoute {
  /** An exact pathname (`/healthz`), or a RegExp tested on the pathname (`/^\/v1\/rooms\/(?<room>[^/]+)$/`). */
  readonly path: string | RegExp;
  /** The methods answered; default GET (and so HEAD). */
  readonly methods?: readonly HttpMethod[];
  /** Answers the request; a throw or rejection becomes a 500 INTERNAL (logged). */
  handle(req: IncomingMessage, res: ServerResponse, match: RouteMatch): void | Promise<void>;
}

/** What the HTTP handler reads from the server. */
export interface HttpContext {
  /** The route table, tried in order; the first route serving the path and method answers. */
  routes: readonly HttpRoute[];
  logger: Logger;
  baseUrl: () => URL;
  /** The WebSocket path (config.path): a plain request there gets 426 Upgrade Required. */
  wsPath: string;
  /** The browser app (./web.ts) when `web.enabled`; tried for paths no route serves. */
  web?: WebApp | undefined;
}

/** What the paths no route serves answer: the browser app, the 426 of the WebSocket path, 404. */
const FALLBACK_METHODS: readonly HttpMethod[] = ['GET', 'HEAD'];

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

function matchPath(path: string | RegExp, pathname: string): Readonly<Record<string, string>> | undefined {
  if (typeof path === 'string') return path === pathname ? NO_PARAMS : undefined;
  const m = path.exec(pathname);
  if (m === null) return undefined;
  return m.groups === undefined ? NO_PARAMS : { ...m.groups };
}

function answers(methods: readonly HttpMethod[], method: string): boolean {
  return (methods as readonly string[]).includes(method) || (method === 'HEAD' && methods.includes('GET'));
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

/**
 * A whole HTTP/1.1 error response (status from the catalogue, JSON error body, `connection: close`)
 * for a socket that has no ServerResponse: a refused upgrade, a request Node could not parse.
 */
export function errorResponseText(code: ErrorCode, message: string): string {
  const status = httpStatus(code);
  const body = JSON.stringify(errorBody(code, message));
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** The server's 'request' listener (every non-upgrade request). */
export function createRequestHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', ctx.baseUrl());
    const method = req.method ?? 'GET';
    let allowed: Set<HttpMethod> | undefined;
    for (const route of ctx.routes) {
      const params = matchPath(route.path, url.pathname);
      if (params === undefined) continue;
      const methods = route.methods ?? ['GET'];
      if (answers(methods, method)) {
        await route.handle(req, res, { url, params });
        return;
      }
      allowed ??= new Set();
      for (const m of methods) allowed.add(m);
      if (methods.includes('GET')) allowed.add('HEAD');
    }
    const allow = allowed ?? new Set(FALLBACK_METHODS);
    if (!answers([...allow], method)) {
      res.setHeader('allow', [...allow].join(', '));
      sendError(res, 'METHOD_NOT_ALLOWED', `method ${method} not allowed`);
      return;
    }
    if (ctx.web?.handle(req, res, url.pathname) === true) return;
    if (url.pathname === ctx.wsPath) {
      // RFC 9110 section 15.5.22: 426 names the protocol to switch to.
      res.setHeader('upgrade', 'websocket');
      res.setHeader('connection', 'Upgrade');
      sendError(res, 'UPGRADE_REQUIRED', `${url.pathname} is the WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)`);
    } else {
      sendError(res, 'NOT_FOUND', `no such endpoint: ${url.pathname}`);
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
