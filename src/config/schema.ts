/**
 * The configuration schema: every key, its type, its default. Validated once at start-up
 * (file < SIGCTL_* environment < flags), then frozen. config.example.json documents every key.
 */
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../protocol/webhook-events.js';
import { addressEntryProblem } from './cidr.js';

const Port = z.number().int().min(0).max(65535);
const Positive = z.number().int().positive();

export const TurnServerConfig = z.strictObject({
  /** TURN URLs, e.g. ["turn:turn.example.com:3478?transport=udp"]. */
  urls: z.array(z.string().regex(/^turns?:/, 'must start with turn: or turns:')).min(1),
  /** Static long-term credentials (use either these or `secret`). */
  username: z.string().optional(),
  credential: z.string().optional(),
  /** Shared secret for the TURN REST scheme (coturn `use-auth-secret` / `static-auth-secret`). */
  secret: z.string().min(1).optional(),
  /** Lifetime of REST credentials in seconds. */
  ttlSeconds: Positive.default(86_400),
});

/**
 * auth.jwt needs exactly one key source, and pinned algorithms that fit it: HS256 only with
 * `secret`, RS256/ES256/EdDSA only with `publicKey` or `jwksUrl`.
 */
function checkJwtKeys(
  jwt: { secret?: string | undefined; publicKey?: string | undefined; jwksUrl?: string | undefined; algorithms?: string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  const sources = (['secret', 'publicKey', 'jwksUrl'] as const).filter((k) => jwt[k] !== undefined);
  if (sources.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs a key: set auth.jwt.secret (HS256), auth.jwt.publicKey or auth.jwt.jwksUrl (RS256/ES256/EdDSA)' });
    return;
  }
  if (sources.length > 1) {
    ctx.addIssue({ code: 'custom', message: `set only one of auth.jwt.secret, publicKey, jwksUrl (got ${sources.join(' and ')})` });
    return;
  }
  const algs = jwt.algorithms ?? [];
  if (jwt.secret !== undefined && algs.some((a) => a !== 'HS256')) {
    ctx.addIssue({ code: 'custom', path: ['algorithms'], message: `auth.jwt.secret only verifies HS256; ${algs.filter((a) => a !== 'HS256').join(', ')} needs auth.jwt.publicKey or auth.jwt.jwksUrl` });
  }
  if (jwt.secret === undefined && algs.includes('HS256')) {
    ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'HS256 needs auth.jwt.secret (a public key or JWKS cannot verify it)' });
  }
}

/** A Sentinel address: `{ host, port }` or a `"host:port"` string (IPv6 in brackets: `"[::1]:26379"`). */
const SentinelAddress = z.union([
  z.strictObject({ host: z.string().min(1), port: Port.min(1) }),
  z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be "host:port" or { "host", "port" }'),
]);

/** redis.url, redis.sentinel and redis.cluster each name the whole Redis deployment: one at most. */
function checkRedisTopology(r: { url?: string | undefined; sentinel?: unknown; cluster?: unknown }, ctx: z.RefinementCtx): void {
  const set = (['url', 'sentinel', 'cluster'] as const).filter((k) => r[k] !== undefined);
  if (set.length > 1) {
    ctx.addIssue({ code: 'custom', message: `set only one of redis.url, redis.sentinel, redis.cluster (got ${set.map((k) => `redis.${k}`).join(' and ')})` });
  }
}

const UrlPath = z.string().regex(/^\/[\w./-]*$/, 'must start with / and contain only URL path characters');

/**
 * Protocols of signaling servers people already run, each off unless switched on: an open
 * broadcast relay on a public server lets anyone talk to everyone (docs/compat.md).
 */
export const CompatConfig = z.strictObject({
  /** STOMP 1.2 over WebSocket on `path`, for clients offering the v12.stomp/v11.stomp/v10.stomp subprotocol. */
  stomp: z.boolean().default(false),
  /** A path where every WebSocket speaks STOMP, subprotocol or not (for clients that offer none). */
  stompPath: UrlPath.optional(),
  /** STOMP heart-beat the server offers both ways (ms); 0 turns heart-beats off. */
  stompHeartbeatMs: z.number().int().nonnegative().default(10_000),
  /** Room per path: a WebSocket at `<rawPrefix><room>` relays text frames verbatim within the room. */
  raw: z.boolean().default(false),
  rawPrefix: z.string().regex(/^\/[\w./-]*\/$/, 'must start and end with /').default('/room/'),
  /** Broadcast relays: every text frame goes to every other session on the same path. */
  broadcast: z.boolean().default(false),
  broadcastPaths: z.array(UrlPath).min(1).default(['/signal', '/socket']),
});
export type CompatConfig = z.infer<typeof CompatConfig>;

/** A webhook receiver (docs/operations.md): room events are POSTed to `url`, signed with `secret`. */
export const WebhookConfig = z.strictObject({
  url: z.string().regex(/^https?:\/\/[^/\s]+(\/\S*)?$/, 'must be an http:// or https:// URL'),
  /** HMAC-SHA256 key of the Sigctl-Signature header; the receiver verifies with the same value. */
  secret: z.string().min(16, 'must be at least 16 characters'),
  /** Only these event types are sent; all when absent. */
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).optional(),
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;

export const ConfigSchema = z.strictObject({
  /** Address to listen on. 127.0.0.1 by default: exposing the server is a deliberate choice. */
  host: z.string().min(1).default('127.0.0.1'),
  /** TCP port for HTTP and WebSocket; 0 picks a free port. */
  port: Port.default(8080),
  /** WebSocket path. */
  path: z.string().regex(/^\/[\w./-]*$/, 'must start with / and contain only URL path characters').default('/ws'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Log lines on stderr: `pretty` (one readable line each), `json` (pino), `auto` (pretty on a terminal). */
  logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  tls: z
    .strictObject({
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
    })
    .default({})
    .refine((t) => (t.cert === undefined) === (t.key === undefined), 'tls.cert and tls.key must be given together'),
  rooms: z
    .strictObject({
      /** Capacity of a room whose creator did not ask for one (2: the common 1:1 call). */
      capacity: Positive.default(2),
      /** Largest capacity a join may ask for (mesh rooms). */
      maxCapacity: Positive.default(16),
      /** How long a member that dropped unexpectedly stays reserved for a resume. */
      resumeGraceMs: z.number().int().nonnegative().default(10_000),
      /** Signals queued for a reserved member; beyond this the oldest are dropped and the member told. */
      resumeQueueMax: Positive.default(256),
    })
    .default({ capacity: 2, maxCapacity: 16, resumeGraceMs: 10_000, resumeQueueMax: 256 })
    .refine((r) => r.capacity <= r.maxCapacity, 'rooms.capacity must not exceed rooms.maxCapacity'),
  /** WebSocket ping interval; a connection that misses two pongs is closed. */
  heartbeatMs: z.number().int().min(100).default(15_000),
  /** On SIGTERM/SIGINT: how long clients get after `bye` before sockets are closed with 1001. */
  drainMs: z.number().int().nonnegative().default(5_000),
  /** Suggested delay before reconnecting, sent in `bye`. */
  reconnectMs: z.number().int().nonnegative().default(1_000),
  limits: z
    .strictObject({
      /** Largest inbound frame in bytes; larger frames get TOO_LARGE and close 1009. */
      maxFrameBytes: z.number().int().min(1024).default(65_536),
      /** Token bucket refill rate, messages per second per connection. */
      messagesPerSecond: Positive.default(50),
      /** Token bucket size: how many messages may arrive at once. */
      burst: Positive.default(100),
      /** RATE_LIMITED replies tolerated within 10 s before the connection is closed (4008). */
      floodStrikes: Positive.default(20),
      /** Concurrent connections from one IP address: open WebSockets plus pending handshakes. */
      maxConnectionsPerIp: Positive.default(256),
      /** From TCP accept until `welcome`: a connection that takes longer to upgrade is closed. */
      handshakeTimeoutMs: z.number().int().min(100).default(5_000),
      /** Bytes queued for a client that does not read before it is closed (4009). */
      sendBufferBytes: z.number().int().min(1024).default(1_048_576),
    })
    .default({ maxFrameBytes: 65_536, messagesPerSecond: 50, burst: 100, floodStrikes: 20, maxConnectionsPerIp: 256, handshakeTimeoutMs: 5_000, sendBufferBytes: 1_048_576 }),
  ice: z
    .strictObject({
      /** STUN URLs handed to clients, e.g. ["stun:stun.example.com:3478"]. */
      stun: z.array(z.string().regex(/^stuns?:/, 'must start with stun: or stuns:')).default([]),
      turn: z.array(TurnServerConfig).default([]),
    })
    .default({ stun: [], turn: [] }),
  /** Built-in STUN Binding responder (RFC 5389) on this UDP port; off when absent. */
  stunPort: Port.optional(),
  /** The browser call app at `/` and the client module at /sigctl-client.js (docs/web.md). */
  web: z.strictObject({ enabled: z.boolean().default(true) }).default({ enabled: true }),
  auth: z
    .strictObject({
      jwt: z
        .strictObject({
          /** HS256 shared secret. */
          secret: z.string().min(16, 'must be at least 16 characters').optional(),
          /** PEM public key (SPKI) for RS256/ES256/EdDSA, or a path to one. */
          publicKey: z.string().optional(),
          /** JWKS URL for RS256/ES256/EdDSA. */
          jwksUrl: z.string().url().optional(),
          /** Accepted algorithms; always pinned. */
          algorithms: z.array(z.enum(['HS256', 'RS256', 'ES256', 'EdDSA'])).min(1).optional(),
          issuer: z.string().optional(),
          audience: z.string().optional(),
          clockToleranceSeconds: z.number().int().nonnegative().default(5),
        })
        .superRefine(checkJwtKeys)
        .optional(),
    })
    .default({}),
  compat: CompatConfig.default({ stomp: false, stompHeartbeatMs: 10_000, raw: false, rawPrefix: '/room/', broadcast: false, broadcastPaths: ['/signal', '/socket'] }),
  /** Allowed browser origins (exact, or `*.example.com`); empty allows all. */
  origins: z.array(z.string().min(1)).default([]),
  /** Reverse proxies (addresses or CIDRs) whose `X-Forwarded-For` names the client; empty believes none. */
  trustProxy: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const problem = addressEntryProblem(entry);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    )
    .default([]),
  /** The WebSocket URL clients use to reach this node (listed by GET /v1/nodes), e.g. wss://node-a.example.com/ws. */
  publicUrl: z.string().regex(/^wss?:\/\/[^/\s]+(\/\S*)?$/, 'must be a ws:// or wss:// URL').optional(),
  redis: z
    .strictObject({
      /** redis:// or rediss:// URL; when set the node joins a cluster sharing rooms through Redis. */
      url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
      /** Redis behind Sentinel: the master's name and the sentinels to ask for it; follows failovers. */
      sentinel: z
        .strictObject({
          /** The master name the sentinels monitor (`sentinel monitor <name> ...`). */
          name: z.string().min(1),
          /** Sentinels to ask, `"host:port"` or `{ host, port }`; any one that answers is enough. */
          sentinels: z.array(SentinelAddress).min(1),
          /** Password of the master and replicas (AUTH), when they require one. */
          password: z.string().min(1).optional(),
        })
        .optional(),
      /** Redis Cluster: some of its nodes (the rest are discovered); rooms spread over the slots. */
      cluster: z
        .strictObject({
          nodes: z.array(z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')).min(1),
        })
        .optional(),
      /** Prefix of every key and channel, so several deployments can share one Redis. */
      keyPrefix: z.string().default('sigctl:'),
      /**
       * Node heartbeat period. A node's liveness key lives 2 periods; survivors check every period,
       * so a dead node's members are reaped within 3 periods (9 s by default).
       */
      nodeHeartbeatMs: z.number().int().min(100).default(3_000),
      /** Node id in Redis and in GET /v1/nodes; random when absent. */
      nodeId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must match ^[A-Za-z0-9._-]{1,64}$').optional(),
      /**
       * Every Redis command, and the health PING sent every quarter of it, must answer within this;
       * otherwise the store is down for this node (/readyz 503, joins UNAVAILABLE) until it answers.
       */
      timeoutMs: z.number().int().min(50).default(1_000),
      /**
       * After Redis lost its data (restart without persistence, failover), joins are held with
       * UNAVAILABLE until every node seen alive before has restored its members, or this long.
       */
      recoveryWindowMs: z.number().int().nonnegative().default(5_000),
      /**
       * Direct links between nodes (docs/scaling.md, "Node links"): a node sends the messages for
       * another node over a WebSocket to it, not through Redis pub/sub. Not used under Cluster.
       */
      links: z
        .strictObject({
          /** Off: every cross-node message goes through Redis pub/sub. */
          enabled: z.boolean().default(true),
          /**
           * Address to listen on for the other nodes' links, advertised to them in Redis. Default:
           * `host` when it names one address; for 0.0.0.0 or ::, this machine's first non-internal
           * IPv4 address (127.0.0.1 when it has none).
           */
          host: z.string().min(1).optional(),
          /** Port to listen on for links; 0 picks a free one (the advertised address says which). */
          port: Port.default(0),
          /**
           * At most one write per link per this many ms: what queues meanwhile goes in that write.
           * A message after a quiet spell goes at once; under load each waits up to this long.
           * Trades latency for CPU (docs/scaling.md, "Node links"). 0: every turn's messages at once.
           */
          coalesceMs: z.number().int().min(0).max(100).default(0),
        })
        .default({ enabled: true, port: 0, coalesceMs: 0 }),
    })
    .default({ keyPrefix: 'sigctl:', nodeHeartbeatMs: 3_000, timeoutMs: 1_000, recoveryWindowMs: 5_000, links: { enabled: true, port: 0, coalesceMs: 0 } })
    .superRefine(checkRedisTopology),
  /** Receivers of room events (docs/operations.md); none by default. */
  webhooks: z.array(WebhookConfig).default([]),
});

/** The validated, frozen configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** Raw (pre-validation) configuration as read from a file, environment or flags. */
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Dotted paths whose values are secrets: never printed or logged. */
export const SECRET_PATHS: readonly RegExp[] = [
  /^ice\.turn\.\d+\.credential$/,
  /^ice\.turn\.\d+\.secret$/,
  /^auth\.jwt\.secret$/,
  /^redis\.sentinel\.password$/,
  /^webhooks\.\d+\.secret$/,
];
