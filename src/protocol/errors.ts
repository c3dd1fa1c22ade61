/**
 * The one error catalogue of sigctl, shared by server, client and CLI (documented in docs/errors.md).
 *
 * Codes are stable strings, never reused. `wire` codes travel in `{"type":"error"}` frames; `local`
 * codes are raised by the client, peer, bench or CLI on the user's side. `exit` is the process exit
 * code the CLI uses when the error ends a command (0 ok, 1 runtime, 2 usage/config, 3 bench gate).
 * `http` is the HTTP status of a refused request or upgrade carrying the code (`httpStatus`).
 */
/** One catalogue entry. */
export interface CatalogueEntry {
  readonly scope: 'wire' | 'local';
  readonly exit: number;
  /** HTTP status when the code refuses an HTTP request or a WebSocket upgrade; absent: 500. */
  readonly http?: number;
  readonly summary: string;
}

export const ERROR_CATALOGUE = {
  // ---- wire: sent by the server in error frames -------------------------------------------------
  BAD_MESSAGE: { scope: 'wire', exit: 1, http: 400, summary: 'The frame is not valid JSON, not an object, or a field has the wrong type.' },
  UNKNOWN_TYPE: { scope: 'wire', exit: 1, summary: 'The frame has a `type` this protocol version does not know.' },
  BAD_ROOM: { scope: 'wire', exit: 2, http: 400, summary: 'The room id does not match ^[A-Za-z0-9._:-]{1,128}$.' },
  ROOM_FULL: { scope: 'wire', exit: 1, summary: 'The room already holds its capacity of members.' },
  ALREADY_JOINED: { scope: 'wire', exit: 1, summary: 'This connection has already joined a room (one room per connection).' },
  NOT_JOINED: { scope: 'wire', exit: 1, summary: 'The message needs a joined room and this connection has none.' },
  UNKNOWN_PEER: { scope: 'wire', exit: 1, summary: 'The `to` peer is not a member of the room.' },
  TOO_LARGE: { scope: 'wire', exit: 1, http: 431, summary: 'The frame exceeds the maximum frame size; the connection is closed with 1009 (HTTP 431: request headers too large).' },
  RATE_LIMITED: { scope: 'wire', exit: 1, http: 429, summary: 'The connection sends faster than its message rate allows; persistent flooding closes it.' },
  UNAUTHORIZED: { scope: 'wire', exit: 1, http: 401, summary: 'No valid token: missing, malformed, badly signed or expired.' },
  FORBIDDEN: { scope: 'wire', exit: 1, http: 403, summary: 'The token is valid but does not allow this (another room, a disallowed origin, a send-only grant).' },
  RESUME_FAILED: { scope: 'wire', exit: 1, summary: 'The resume token is unknown or its grace period has ended; the client joined as a new member.' },
  SIGNALS_DROPPED: { scope: 'wire', exit: 1, summary: 'Signals addressed to a disconnected member overflowed its resume queue; the oldest were dropped.' },
  UNAVAILABLE: { scope: 'wire', exit: 1, http: 503, summary: 'A required backing store (Redis) is unreachable; joins are refused until it returns.' },
  MEMBERSHIP_LOST: { scope: 'wire', exit: 1, summary: 'Redis lost this membership (restart, failover) and the room filled before it could be restored; the connection is closed.' },
  KICKED: { scope: 'wire', exit: 1, summary: 'The operator removed this member from its room; the connection is closed with 4014 and the resume token is void.' },
  SHUTTING_DOWN: { scope: 'wire', exit: 1, http: 503, summary: 'The server is draining and accepts no new joins.' },
  INTERNAL: { scope: 'wire', exit: 1, http: 500, summary: 'An unexpected server error; the connection keeps working.' },
  NOT_FOUND: { scope: 'wire', exit: 1, http: 404, summary: 'HTTP only: no endpoint at this path (404), or an upgrade off the WebSocket path.' },
  METHOD_NOT_ALLOWED: { scope: 'wire', exit: 1, http: 405, summary: 'HTTP only: the endpoints answer GET and HEAD (405).' },
  UPGRADE_REQUIRED: { scope: 'wire', exit: 1, http: 426, summary: 'HTTP only: a plain request to the WebSocket path, which needs an Upgrade: websocket handshake (426).' },

  // ---- local: raised on the user's side ---------------------------------------------------------
  USAGE: { scope: 'local', exit: 2, summary: 'A command-line flag or argument is missing or invalid.' },
  CONFIG_INVALID: { scope: 'local', exit: 2, summary: 'The configuration (file, SIGCTL_* environment or flags) failed validation, or a config file cannot be parsed.' },
  CONFIG_NOT_FOUND: { scope: 'local', exit: 2, summary: 'The file named by --config or SIGCTL_CONFIG does not exist.' },
  LISTEN_FAILED: { scope: 'local', exit: 1, summary: 'The server could not bind its address (in use, no permission, bad TLS files).' },
  SERVER_UNREACHABLE: { scope: 'local', exit: 1, summary: 'The signaling server could not be reached (refused, DNS, TLS, or HTTP status on upgrade).' },
  CONNECTION_LOST: { scope: 'local', exit: 1, summary: 'The signaling connection dropped and reconnecting gave up.' },
  PROTOCOL_MISMATCH: { scope: 'local', exit: 1, summary: 'The server speaks a protocol version this client does not.' },
  TIMEOUT: { scope: 'local', exit: 1, summary: 'An operation did not complete within its time limit.' },
  ICE_FAILED: { scope: 'local', exit: 1, summary: 'ICE found no working candidate pair; the message names the candidate types tried.' },
  TURN_AUTH_FAILED: { scope: 'local', exit: 1, summary: 'The TURN server refused the credentials, or gathering relay candidates stalled.' },
  NO_RELAY_CANDIDATES: { scope: 'local', exit: 1, summary: '--relay-only was asked for but no TURN server yielded a relay candidate.' },
  TRANSFER_FAILED: { scope: 'local', exit: 1, summary: 'A file transfer did not complete or its SHA-256 did not match.' },
  ENGINE_MISSING: { scope: 'local', exit: 2, summary: 'The requested WebRTC engine (e.g. node-datachannel) is not installed.' },
  GATE_FAILED: { scope: 'local', exit: 3, summary: 'A bench threshold (--max-join-p95, --min-mbps, ...) was missed.' },
  ABORTED: { scope: 'local', exit: 130, summary: 'The operation was interrupted (Ctrl-C or SIGTERM).' },
  PLACEHOLDER_SECRET: { scope: 'local', exit: 2, summary: 'A secret in the configuration is a published placeholder (config.example.json); serve refuses to start with it.' },
} as const satisfies Record<string, CatalogueEntry>;

/** Every error code sigctl can produce. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Codes that may appear in a wire `error` frame. */
export type WireErrorCode = {
  [K in ErrorCode]: (typeof ERROR_CATALOGUE)[K]['scope'] extends 'wire' ? K : never;
}[ErrorCode];

const WIRE_CODES = new Set<string>(
  Object.entries(ERROR_CATALOGUE)
    .filter(([, v]) => v.scope === 'wire')
    .map(([k]) => k),
);

/** True when `code` is a known wire error code. */
export function isWireErrorCode(code: string): code is WireErrorCode {
  return WIRE_CODES.has(code);
}

/** True when `code` is any known sigctl error code. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}

/**
 * The HTTP status of a refused request or upgrade whose JSON body carries `code`
 * (`{"error":{"code","message"}}`): the entry's `http`, 500 for a code without one (docs/errors.md).
 */
export function httpStatus(code: ErrorCode): number {
  const entry: CatalogueEntry = ERROR_CATALOGUE[code];
  return entry.http ?? 500;
}

/** Error codes after which a client must not reconnect on its own. */
export const FATAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAUTHORIZED', 'FORBIDDEN', 'PROTOCOL_MISMATCH']);

/**
 * The error type thrown across sigctl. `code` is from the catalogue; `details` carries structured,
 * non-secret context (never tokens or credentials).
 */
export class SigctlError extends Error {
  override readonly name = 'SigctlError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? ERROR_CATALOGUE[code].summary, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  /** The process exit code for this error. */
  get exitCode(): number {
    return ERROR_CATALOGUE[this.code].exit;
  }
}

/** Narrows unknown values to SigctlError (works across module copies by checking the shape). */
export function isSigctlError(err: unknown): err is SigctlError {
  return err instanceof SigctlError || (err instanceof Error && err.name === 'SigctlError' && typeof (err as { code?: unknown }).code === 'string');
}
