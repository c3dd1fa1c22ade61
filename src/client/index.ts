/** The protocol v1 signaling client: used by `sigctl peer`, `sigctl bench` and library users. */
export { SignalClient } from './signal-client.js';
export type { SignalClientOptions, SignalClientEvents, JoinParams, ClientLogger } from './signal-client.js';
export type { ClientState } from './state.js';
export { canTransition, NON_RETRYABLE_CLOSE_CODES } from './state.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { TypedEmitter } from './typed-emitter.js';
export type { EventMap, Listener } from './typed-emitter.js';
export { redactUrl } from './errors.js';
