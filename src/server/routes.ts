/**
 * The built-in HTTP routes of the server: /healthz (alive), /readyz (accepting: not draining, store
 * up), /metrics (Prometheus), /v1/nodes (live nodes and their load), /v1/ice-servers (the same list
 * `welcome` carries). Each is an `HttpRoute` (./http.ts); other modules add theirs to the same table.
 */
import type { Authenticator } from '../auth/principal.js';
import { isSigctlError } from '../protocol/errors.js';
import type { IceServer } from '../protocol/messages.js';
import { sendError, sendJson, type HttpRoute } from './http.js';
import type { ServerMetrics } from './metrics.js';

/** What the built-in routes read from the server. */
export interface CoreRoutesContext {
  metrics: ServerMetrics;
  authenticator: Authenticator;
  isDraining: () => boolean;
  storeHealthy: () => boolean;
  /** ICE servers for an HTTP caller identified by `user` (token subject or a random id). */
  iceServers: (user: string | undefined) => IceServer[];
  /** Live nodes with their load (just this one without a shared store). */
  nodes: () => Promise<readonly unknown[]>;
}

/** The built-in route table. */
export function coreRoutes(ctx: CoreRoutesContext): HttpRoute[] {
  return [
    {
      path: '/healthz',
      handle: (_req, res) => sendJson(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      handle: (_req, res) => {
        const draining = ctx.isDraining();
        const store = ctx.storeHealthy();
        const ready = !draining && store;
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', draining, store: store ? 'up' : 'down' });
      },
    },
    {
      path: '/metrics',
      handle: async (_req, res) => {
        const text = await ctx.metrics.text();
        res.writeHead(200, { 'content-type': ctx.metrics.contentType });
        res.end(text);
      },
    },
    {
      path: '/v1/nodes',
      handle: async (_req, res) => sendJson(res, 200, { nodes: await ctx.nodes() }),
    },
    {
      path: '/v1/ice-servers',
      handle: async (req, res, { url }) => {
        let user: string | undefined;
        if (ctx.authenticator.required) {
          try {
            user = (await ctx.authenticator.authenticate(req, url)).sub;
          } catch (err) {
            sendError(res, isSigctlError(err) ? err.code : 'INTERNAL', err instanceof Error ? err.message : String(err));
            return;
          }
        }
        sendJson(res, 200, { iceServers: ctx.iceServers(user) });
      },
    },
  ];
}
