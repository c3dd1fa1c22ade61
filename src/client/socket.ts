/**
 * One signaling socket, from the upgrade to `welcome` and on to its close: the token (header or
 * `?token=`), the subprotocol, the connect limit, refused upgrades turned into coded errors, the
 * protocol version check, and validated frames handed to the owner. The socket itself comes from
 * a transport (./transport.ts): `ws` on Node, the global WebSocket in browsers.
 *
 * The owner (the client in ./core.ts) keeps the state machine; this module knows nothing about
 * rooms or reconnecting. Callbacks run synchronously from the transport's events, so the frame
 * that follows `welcome` in the same TCP segment is dispatched after the owner has handled `welcome`.
 */
import { SigctlError } from '../protocol/errors.js';
import type { ServerMessage, WelcomeMessage } from '../protocol/messages.js';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../protocol/version.js';
import type { Clock } from './clock.js';
import { errorFromFrame, redactUrl } from './errors.js';
import { parseServerText } from './frames.js';
import type { Transport, TransportSocket } from './transport.js';

/** Largest frame accepted from the server (the server's own limit is lower). */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface OpenSocketOptions {
  url: string;
  token?: string | undefined;
  tokenIn?: 'query' | 'header' | undefined;
  /** Limit for the TCP/TLS/upgrade handshake plus `welcome` (ms). */
  timeoutMs: number;
  clock: Clock;
  transport: Transport;
}

/** What the owner hears from its socket. Every callback gets the socket it concerns. */
export interface SocketHandlers {
  /** `welcome` arrived: the socket is established (before `ready` resolves). */
  welcome(ws: TransportSocket, msg: WelcomeMessage): void;
  /** A validated frame after `welcome`. */
  frame(ws: TransportSocket, msg: ServerMessage): void;
  /** A frame that failed validation (reported, never trusted). */
  invalid(err: SigctlError): void;
  /** Any traffic from the server, server pings included (heartbeat watchdog). */
  activity(ws: TransportSocket): void;
  /** The established socket closed. */
  closed(ws: TransportSocket, code: number, reason: string): void;
  /** A socket error after `welcome` (the close follows). */
  error(err: Error): void;
}

/**
 * Opens a socket. `ws` is the new socket (undefined when the URL could not even be used); `ready`
 * resolves with `welcome` or rejects with SERVER_UNREACHABLE, UNAUTHORIZED (with the server's
 * reason), FORBIDDEN, SHUTTING_DOWN, PROTOCOL_MISMATCH, TIMEOUT or a server error frame's code.
 */
export function openSocket(o: OpenSocketOptions, on: SocketHandlers): { ws: TransportSocket | undefined; ready: Promise<WelcomeMessage> } {
  const url = redactUrl(o.url);
  // A transport that cannot send headers (a browser) carries the token in the query.
  const inQuery = o.token !== undefined && (o.tokenIn === 'query' || !o.transport.sendsHeaders);
  const headers: Record<string, string> = {};
  if (o.token !== undefined && !inQuery) headers.Authorization = `Bearer ${o.token}`;
  let settled = false;
  // Only a socket that got `welcome` is the owner's business after the handshake: a failed one
  // still reports its close, which must not look like a dropped session.
  let established = false;
  let fail: (error: SigctlError) => void = () => undefined;
  let succeed: (msg: WelcomeMessage) => void = () => undefined;
  const live = (): boolean => !settled || established;
  let ws: TransportSocket;
  try {
    ws = o.transport.open(
      { url: inQuery ? withToken(o.url, o.token!) : o.url, protocols: [SUBPROTOCOL], headers, timeoutMs: o.timeoutMs, maxPayloadBytes: MAX_PAYLOAD_BYTES, redactedUrl: url, clock: o.clock },
      {
        refused: (error) => fail(error),
        error: (err) => {
          if (!settled) fail(new SigctlError('SERVER_UNREACHABLE', `cannot connect to ${url}: ${err.message}`, { cause: err, details: { url } }));
          else if (established) on.error(err);
        },
        close: (code, reason) => {
          if (!settled) {
            fail(new SigctlError('SERVER_UNREACHABLE', `${url} closed the connection before welcome (${code}${reason === '' ? '' : ` ${reason}`})`, { details: { url, code } }));
            return;
          }
          if (established) on.closed(ws, code, reason);
        },
        ping: () => {
          if (live()) on.activity(ws);
        },
        binary: () => {
          if (!live()) return;
          on.activity(ws);
          on.invalid(new SigctlError('BAD_MESSAGE', 'the server sent a binary frame; protocol v1 is text only'));
        },
        text: (text) => {
          if (!live()) return;
          on.activity(ws);
          const msg = parseServerText(text);
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
          established = true;
          succeed(msg);
        },
      },
    );
  } catch (err) {
    return { ws: undefined, ready: Promise.reject(new SigctlError('SERVER_UNREACHABLE', `cannot connect to ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })) };
  }
  const ready = new Promise<WelcomeMessage>((resolve, reject) => {
    const timer = o.clock.setTimeout(() => {
      fail(new SigctlError('TIMEOUT', `no welcome from ${url} within ${o.timeoutMs} ms`, { details: { url } }));
    }, o.timeoutMs);
    fail = (error) => {
      if (settled) return;
      settled = true;
      o.clock.clearTimeout(timer);
      if (!ws.isClosed) ws.terminate();
      reject(error);
    };
    succeed = (msg) => {
      settled = true;
      o.clock.clearTimeout(timer);
      on.welcome(ws, msg);
      resolve(msg);
    };
  });
  return { ws, ready };
}

function withToken(url: string, token: string): string {
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}
