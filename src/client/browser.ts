/**
 * The signaling client for browsers (`sigctl/browser`, and `/sigctl-client.js` from `sigctl serve`):
 * the same protocol v1 client as on Node (./core.ts: state machine, validated frames, reconnect
 * with resume), on the global WebSocket. Imports nothing from Node.
 *
 *   import { SignalClient } from '/sigctl-client.js';
 *   const client = new SignalClient({ url: 'ws://127.0.0.1:8080/ws' });
 *   const welcome = await client.connect();   // welcome.iceServers for RTCPeerConnection
 *   await client.join({ room: 'demo', name: 'alice', meta: { audio: true } });
 */
import { SignalClientCore } from './core.js';
import { browserTransport } from './transport-browser.js';
import type { SignalClientCoreOptions } from './types.js';

export type { ClientLogger, JoinParams, SignalClientEvents } from './types.js';
export type { ClientState } from './state.js';
export { SigctlError, isSigctlError } from '../protocol/errors.js';
export type { ErrorCode } from '../protocol/errors.js';
export type {
  IceServer,
  JoinedMessage,
  Meta,
  PeerInfo,
  PeerJoinedMessage,
  PeerLeftMessage,
  PeerUpdatedMessage,
  ReadyMessage,
  ServerSignalMessage,
  WelcomeMessage,
} from '../protocol/messages.js';
export { SignalPayload } from '../protocol/messages.js';

/** Options of the browser client: the token always travels as `?token=` (a browser sends no headers). */
export type BrowserSignalClientOptions = Omit<SignalClientCoreOptions, 'tokenIn'>;

/** A protocol v1 signaling client on the browser's WebSocket. Create one per connection; `closed` is terminal. */
export class SignalClient extends SignalClientCore {
  constructor(options: BrowserSignalClientOptions) {
    super({ ...options, tokenIn: 'query' }, browserTransport);
  }
}
