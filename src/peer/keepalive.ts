/**
 * The data-channel keepalive between sigctl peers. werift alone notices a killed far end only after
 * ~30 s, and the server reports it only when the resume grace ends; a ping every couple of seconds
 * on the channel, and a peer dropped after a few silent seconds, bring that down to the
 * `deadAfterMs` a session asks for. Only peers that advertise KEEPALIVE_META get pings, so browser
 * apps never see them on their channel.
 */
import type { Clock, TimerHandle } from '../client/clock.js';
import type { PeerInfo } from '../protocol/messages.js';
import type { PeerLink } from './link.js';

/** Meta key a sigctl peer sets to say it understands the keepalive message. */
export const KEEPALIVE_META = 'sigctlKeepalive';
/** The keepalive message (text); consumed by the session, never delivered as a message. */
export const KEEPALIVE_MESSAGE = '{"sigctl":"ka"}';

/** The handle of one peer's keepalive. */
export interface Keepalive {
  /** Something (a ping or data) came from the peer; also starts pinging once the channel is open. */
  heard(): void;
  stop(): void;
}

export interface KeepaliveOptions {
  peer: PeerInfo;
  link: PeerLink;
  /** Ping interval (ms); 0 disables. */
  everyMs: number;
  /** Silence after which the peer counts as dead (ms). */
  deadAfterMs: number;
  clock: Clock;
  /** True once the session is closing: no more pings, no verdicts. */
  stopped: () => boolean;
  /** The peer went silent for deadAfterMs (called once; the timer is stopped). */
  onDead: () => void;
}

const NONE: Keepalive = { heard: () => undefined, stop: () => undefined };

/** Pings `link`'s channel while it is open; calls onDead when nothing arrived for deadAfterMs. */
export function startKeepalive(o: KeepaliveOptions): Keepalive {
  if (o.everyMs <= 0 || o.peer.meta[KEEPALIVE_META] !== true) return NONE;
  let last = o.clock.now();
  let timer: TimerHandle;
  const tick = (): void => {
    timer = undefined;
    if (o.stopped() || o.link.state === 'closed') return;
    if (o.clock.now() - last > o.deadAfterMs) {
      o.onDead();
      return;
    }
    try {
      o.link.channel?.send(KEEPALIVE_MESSAGE);
    } catch {
      // channel closing: the next tick decides
    }
    timer = o.clock.setTimeout(tick, o.everyMs);
  };
  return {
    heard: () => {
      last = o.clock.now();
      if (timer === undefined && o.link.channel !== undefined) timer = o.clock.setTimeout(tick, o.everyMs);
    },
    stop: () => {
      if (timer !== undefined) o.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
