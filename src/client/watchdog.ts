/**
 * Noticing a silent signaling server. The server sends a frame (data or a ping) at least every
 * 2 x heartbeatMs (`welcome.heartbeatMs`); a socket quiet for one period more is taken as dead
 * and handed to `silent`. On transports that hide the server's pings (the browser answers them
 * unseen), a `ping` frame after a quiet heartbeat makes the server answer with a frame we see.
 */
import type { Clock, TimerHandle } from './clock.js';
import type { TransportSocket } from './transport.js';

/** The watchdog allows 3 heartbeats of silence: the server's 2 plus one. */
const HEARTBEAT_GRACE_FACTOR = 3;

/** What the watchdog asks of its client. */
export interface WatchdogHooks {
  /** The client's current socket: timers for any other socket do nothing. */
  current(): TransportSocket | undefined;
  /** `ws` has been silent for `limitMs`: the client drops it (and reconnects). */
  silent(ws: TransportSocket, limitMs: number): void;
}

/** One timer (plus a probe timer where pings are hidden) per current socket, re-armed by every frame. */
export class HeartbeatWatchdog {
  private watchdog: TimerHandle;
  /** Sends a `ping` when the server has been quiet for a heartbeat, on transports that hide its pings. */
  private probe: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly seesPings: boolean,
    private readonly hooks: WatchdogHooks,
  ) {}

  /** Traffic on `ws` (or its welcome): restarts the silence limit. */
  feed(ws: TransportSocket, heartbeatMs: number): void {
    this.stop();
    const limit = Math.round(heartbeatMs * HEARTBEAT_GRACE_FACTOR);
    if (!this.seesPings) {
      this.probe = this.clock.setTimeout(() => {
        this.probe = undefined;
        if (ws === this.hooks.current() && ws.isOpen) ws.send(JSON.stringify({ type: 'ping', ts: Date.now() }));
      }, heartbeatMs);
    }
    this.watchdog = this.clock.setTimeout(() => {
      this.watchdog = undefined;
      if (ws === this.hooks.current()) this.hooks.silent(ws, limit);
    }, limit);
  }

  /** Cancels both timers (idempotent). */
  stop(): void {
    if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
    if (this.probe !== undefined) this.clock.clearTimeout(this.probe);
    this.watchdog = undefined;
    this.probe = undefined;
  }
}
