/**
 * The signaling client on Node: the protocol v1 client of ./core.ts over `ws`, which can send the
 * token as an `Authorization` header and take TLS options. The browser build is ./browser.ts.
 */
import { SignalClientCore } from './core.js';
import { wsTransport, type WsTransportOptions } from './transport-ws.js';
import type { SignalClientCoreOptions } from './types.js';

export type { ClientLogger, JoinParams, SignalClientCoreOptions, SignalClientEvents } from './types.js';

export interface SignalClientOptions extends SignalClientCoreOptions {
  /** Extra options for the ws client (`ca` for a self-signed wss server, `origin` to act as a browser page). */
  wsOptions?: WsTransportOptions | undefined;
}

/** A protocol v1 signaling client on Node. Create one per connection; `closed` is terminal. */
export class SignalClient extends SignalClientCore {
  constructor(options: SignalClientOptions) {
    super(options, wsTransport(options.wsOptions));
  }
}
