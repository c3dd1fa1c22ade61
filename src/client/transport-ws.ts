/**
 * The Node transport: `ws` with request headers (the bearer token), TLS options (`ca`,
 * `rejectUnauthorized`) and `origin`, and the JSON body of a refused upgrade read for the error.
 */
import type { IncomingMessage } from 'node:http';
import type { ClientOptions as WsClientOptions, RawData } from 'ws';
import { HttpErrorBody } from '../protocol/messages.js';
import type { Clock } from './clock.js';
import { errorFromUpgradeStatus } from './errors.js';
import type { Transport, TransportHandlers, TransportOpenOptions, TransportSocket } from './transport.js';
import { WebSocket } from './ws.js';

/** A refused upgrade's JSON body is read up to this size and for at most this long. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;
const ERROR_BODY_WAIT_MS = 1_000;
const CLOSE_WAIT_MS = 2_000;

/** The ws options a caller may pass through. */
export type WsTransportOptions = Pick<WsClientOptions, 'ca' | 'rejectUnauthorized' | 'origin'>;

/** Sockets on Node's `ws`. */
export function wsTransport(wsOptions?: WsTransportOptions): Transport {
  return {
    seesPings: true,
    sendsHeaders: true,
    open: (o, on) => openWs(o, on, wsOptions),
  };
}

function openWs(o: TransportOpenOptions, on: TransportHandlers, wsOptions: WsTransportOptions | undefined): TransportSocket {
  const ws = new WebSocket(o.url, o.protocols, { ...wsOptions, headers: o.headers, handshakeTimeout: o.timeoutMs, maxPayload: o.maxPayloadBytes });
  let refused = false;
  ws.on('unexpected-response', (req, res) => {
    refused = true;
    const status = res.statusCode ?? 0;
    void readErrorBody(res, o.clock).then((body) => {
      req.destroy();
      on.refused(errorFromUpgradeStatus(status, o.redactedUrl, body));
    });
  });
  ws.on('error', (err) => {
    if (!refused) on.error(err);
  });
  ws.on('close', (code, reason) => {
    if (!refused) on.close(code, reason.toString());
  });
  ws.on('ping', () => on.ping());
  ws.on('message', (raw, isBinary) => {
    if (isBinary) on.binary();
    else on.text(rawToString(raw));
  });
  return {
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    get isClosed() {
      return ws.readyState === WebSocket.CLOSED;
    },
    send: (text) => ws.send(text),
    terminate: () => ws.terminate(),
    close: () => closeWs(ws, o.clock),
  };
}

function rawToString(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

/** Closes a socket with 1000 and resolves when it is closed (terminating it after 2 s). */
function closeWs(ws: WebSocket, clock: Clock): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      ws.terminate();
      resolve();
    }, CLOSE_WAIT_MS);
    ws.once('close', () => {
      clock.clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  });
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
