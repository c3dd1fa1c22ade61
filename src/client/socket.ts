/**
 * One signaling WebSocket, from the upgrade to `welcome` and on to its close: the token (header or
 * `?token=`), the subprotocol, the connect limit, refused upgrades turned into coded errors with the
 * server's JSON reason, the protocol version check, and validated frames handed to the owner.
 *
 * The owner (SignalClient) keeps the state machine; this module knows nothing about rooms or
 * reconnecting. Callbacks run synchronously from ws's events, so the frame that follows `welcome`
 * in the same TCP segment is dispatched after the owner has handled `welcome`.
 */
import type { IncomingMessage } from 'node:http';
import type { ClientOptions as WsClientOptions } from 'ws';
import { WebSocket } from './ws.js';
import { SigctlError } from '../protocol/errors.js';
import { HttpErrorBody, type ServerMessage, type WelcomeMessage } from '../protocol/messages.js';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../protocol/version.js';
import type { Clock } from './clock.js';
import { errorFromFrame, errorFromUpgradeStatus, redactUrl } from './errors.js';
import { parseServerFrame } from './frames.js';

/** Largest frame accepted from the server (the server's own limit is lower). */
const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** A refused upgrade's JSON body is read up to this size and for at most this long. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;
const ERROR_BODY_WAIT_MS = 1_000;

export interface OpenSocketOptions {
  url: string;
  token?: string | undefined;
  tokenIn?: 'query' | 'header' | undefined;
  /** Limit for the TCP/TLS/upgrade handshake plus `welcome` (ms). */
  timeoutMs: number;
  clock: Clock;
  wsOptions?: Pick<WsClientOptions, 'ca' | 'rejectUnauthorized' | 'origin'> | undefined;
}

/** What the owner hears from its socket. Every callback gets the socket it concerns. */
export interface SocketHandlers {
  /** `welcome` arrived: the socket is established (before `ready` resolves). */
  welcome(ws: WebSocket, msg: WelcomeMessage): void;
  /** A validated frame after `welcome`. */
  frame(ws: WebSocket, msg: ServerMessage): void;
  /** A frame that failed validation (reported, never trusted). */
  invalid(err: SigctlError): void;
  /** Any traffic from the server, server pings included (heartbeat watchdog). */
  activity(ws: WebSocket): void;
  /** The established socket closed. */
  closed(ws: WebSocket, code: number, reason: string): void;
  /** A socket error after `welcome` (the close follows). */
  error(err: Error): void;
}

/**
 * Opens a socket. `ws` is the new socket (undefined when the URL could not even be used); `ready`
 * resolves with `welcome` or rejects with SERVER_UNREACHABLE, UNAUTHORIZED (with the server's
 * reason), FORBIDDEN, SHUTTING_DOWN, PROTOCOL_MISMATCH, TIMEOUT or a server error frame's code.
 */
export function openSocket(o: OpenSocketOptions, on: SocketHandlers): { ws: WebSocket | undefined; ready: Promise<WelcomeMessage> } {
  const url = redactUrl(o.url);
  const headers: Record<string, string> = {};
  if (o.token !== undefined && o.tokenIn !== 'query') headers.Authorization = `Bearer ${o.token}`;
  let ws: WebSocket;
  try {
    ws = new WebSocket(socketUrl(o), [SUBPROTOCOL], { ...o.wsOptions, headers, handshakeTimeout: o.timeoutMs, maxPayload: MAX_PAYLOAD_BYTES });
  } catch (err) {
    return { ws: undefined, ready: Promise.reject(new SigctlError('SERVER_UNREACHABLE', `cannot connect to ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })) };
  }
  const ready = new Promise<WelcomeMessage>((resolve, reject) => {
    let settled = false;
    // Only a socket that got `welcome` is the owner's business after the handshake: a failed one
    // still emits 'close' (synchronously after 'error'), which must not look like a dropped session.
    let established = false;
    const fail = (error: SigctlError): void => {
      if (settled) return;
      settled = true;
      o.clock.clearTimeout(timer);
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      reject(error);
    };
    const timer = o.clock.setTimeout(() => {
      ws.terminate();
      fail(new SigctlError('TIMEOUT', `no welcome from ${url} within ${o.timeoutMs} ms`, { details: { url } }));
    }, o.timeoutMs);
    ws.on('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      void readErrorBody(res, o.clock).then((body) => {
        req.destroy();
        fail(errorFromUpgradeStatus(status, url, body));
      });
    });
    ws.on('error', (err) => {
      if (!settled) fail(new SigctlError('SERVER_UNREACHABLE', `cannot connect to ${url}: ${err.message}`, { cause: err, details: { url } }));
      else if (established) on.error(err);
    });
    ws.on('close', (code, reasonBuf) => {
      const reason = reasonBuf.toString();
      if (!settled) {
        fail(new SigctlError('SERVER_UNREACHABLE', `${url} closed the connection before welcome (${code}${reason === '' ? '' : ` ${reason}`})`, { details: { url, code } }));
        return;
      }
      if (established) on.closed(ws, code, reason);
    });
    const live = (): boolean => !settled || established;
    ws.on('ping', () => {
      if (live()) on.activity(ws);
    });
    ws.on('message', (raw, isBinary) => {
      if (!live()) return;
      on.activity(ws);
      const msg = parseServerFrame(raw, isBinary);
      if (msg instanceof SigctlError) {
        on.invalid(msg);
        return;
      }
      if (established) {
        on.frame(ws, msg);
        return;
      }
      if (msg.type !== 'welcome') {
        if (msg.type === 'error') fail(errorFromFrame(msg));
        return;
      }
      if (msg.protocol !== PROTOCOL_VERSION) {
        fail(new SigctlError('PROTOCOL_MISMATCH', `server speaks protocol ${msg.protocol}, this client ${PROTOCOL_VERSION}`));
        return;
      }
      settled = true;
      established = true;
      o.clock.clearTimeout(timer);
      on.welcome(ws, msg);
      resolve(msg);
    });
  });
  return { ws, ready };
}

function socketUrl(o: OpenSocketOptions): string {
  if (o.token === undefined || o.tokenIn !== 'query') return o.url;
  const u = new URL(o.url);
  u.searchParams.set('token', o.token);
  return u.toString();
}

/**
 * The `{"error":{"code","message"}}` body of a refused upgrade (the server says why: missing,
 * expired, wrong room, origin...). Bounded in size and time; undefined when there is none.
 */
function readErrorBody(res: IncomingMessage, clock: Clock): Promise<HttpErrorBody['error'] | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      res.removeAllListeners('data');
      res.resume();
      resolve(parseErrorBody(Buffer.concat(chunks).toString('utf8')));
    };
    const timer = clock.setTimeout(finish, ERROR_BODY_WAIT_MS);
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ERROR_BODY_BYTES) {
        chunks.length = 0;
        finish();
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', finish);
    res.once('close', finish);
    res.once('error', finish);
  });
}

function parseErrorBody(text: string): HttpErrorBody['error'] | undefined {
  if (text === '') return undefined;
  try {
    const parsed = HttpErrorBody.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.error : undefined;
  } catch {
    return undefined;
  }
}
