/**
 * The browser transport: the global WebSocket. A browser sends no request headers (the token goes
 * as `?token=`), answers server pings without telling the page (the client probes with `ping`
 * frames instead, see ./core.ts), and hides the HTTP status of a refused upgrade (a refusal looks
 * like a connection failure: SERVER_UNREACHABLE).
 */
import { SigctlError } from '../protocol/errors.js';
import type { Transport, TransportHandlers, TransportOpenOptions, TransportSocket } from './transport.js';

/** The parts of the WHATWG WebSocket used here (declared so this file needs no DOM typings). */
interface BrowserWebSocket {
  readonly readyState: number;
  binaryType: string;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: (() => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}
type BrowserWebSocketClass = new (url: string, protocols: string[]) => BrowserWebSocket;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;
const CLOSE_WAIT_MS = 2_000;

/** Sockets on the global WebSocket (browsers, Deno, Node >= 22). */
export const browserTransport: Transport = {
  seesPings: false,
  sendsHeaders: false,
  open: openBrowserSocket,
};

function openBrowserSocket(o: TransportOpenOptions, on: TransportHandlers): TransportSocket {
  const Ctor = (globalThis as { WebSocket?: BrowserWebSocketClass }).WebSocket;
  if (Ctor === undefined) throw new SigctlError('SERVER_UNREACHABLE', 'this runtime has no global WebSocket');
  const ws = new Ctor(o.url, o.protocols);
  ws.binaryType = 'arraybuffer';
  let ended = false;
  const closeWaiters: Array<() => void> = [];
  // A browser applies no handshake limit of its own that we could set: enforce ours.
  let handshake = o.clock.setTimeout(() => {
    handshake = undefined;
    if (ws.readyState === CONNECTING) end(1006, 'handshake timeout');
  }, o.timeoutMs);
  const clearHandshake = (): void => {
    if (handshake !== undefined) o.clock.clearTimeout(handshake);
    handshake = undefined;
  };
  // Reports the end once, also when we gave up on the socket before the browser did.
  const end = (code: number, reason: string): void => {
    if (ended) return;
    ended = true;
    clearHandshake();
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    if (ws.readyState !== CLOSED) ws.close();
    on.close(code, reason);
    for (const w of closeWaiters.splice(0)) w();
  };
  ws.onopen = clearHandshake;
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') on.text(event.data);
    else on.binary();
  };
  ws.onerror = () => on.error(new Error(`WebSocket error on ${o.redactedUrl}`));
  ws.onclose = (event) => end(event.code, event.reason);
  return {
    get isOpen() {
      return !ended && ws.readyState === OPEN;
    },
    get isClosed() {
      return ended;
    },
    send: (text) => ws.send(text),
    terminate: () => end(1006, ''),
    close: () => {
      if (ended) return Promise.resolve();
      return new Promise<void>((resolve) => {
        closeWaiters.push(resolve);
        const timer = o.clock.setTimeout(() => end(1006, ''), CLOSE_WAIT_MS);
        closeWaiters.push(() => o.clock.clearTimeout(timer));
        if (ws.readyState === CONNECTING) end(1006, '');
        else ws.close(1000);
      });
    },
  };
}
