/**
 * The data-channel keepalive between sigctl peers. werift alone notices a killed far end only when
 * its ICE consent checks fail (CONSENT_INTERVAL 5 s x CONSENT_FAILURES 6 in werift 0.24.4's
 * lib/ice/src/iceBase.js), and the server reports it only when the resume grace ends; a ping every
 * couple of seconds on the channel, and a peer dropped after a few silent seconds, bring that down to the
 * `deadAfterMs` a session asks for. Only peers known to be sigctl peers get pings, so browser apps
 * never see them on their channel. Which peers those are is learnt on the data channel itself, not
 * from room metadata (other members, browser apps among them, have no business seeing it): a sigctl
 * peer opens its channel with the sub-protocol KEEPALIVE_PROTOCOL, so the answering side knows at
 * once; the offering side knows from the first keepalive that arrives.
 */
import type { Clock, TimerHandle } from '../client/clock.js';
import type { PeerLink } from './link.js';

/** Data-channel sub-protocol (RTCDataChannel.protocol) a sigctl peer opens its channel with: it understands the keepalive. */
export const KEEPALIVE_PROTOCOL = 'sigctl-ka';
/** The keepalive message (text); consumed by the session, never delivered as a message. */
export const KEEPALIVE_MESSAGE = '{"sigctl":"ka"}';

/** The handle of one peer's keepalive. */
export interface Keepalive {
  /** Something (a ping or data) came from the peer; starts pinging once enabled and the channel is open. */
  heard(): void;
  /** The peer is a sigctl peer (its channel's sub-protocol, or a keepalive from it): ping it from now on. */
  enable(): void;
  stop(): void;
}

export interface KeepaliveOptions {
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

const NONE: Keepalive = { heard: () => undefined, enable: () => undefined, stop: () => undefined };

/** Once enabled, pings `link`'s channel while it is open; calls onDead when nothing arrived for deadAfterMs. */
export function startKeepalive(o: KeepaliveOptions): Keepalive {
  if (o.everyMs <= 0) return NONE;
  let last = o.clock.now();
  let enabled = false;
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
  const heard = (): void => {
    last = o.clock.now();
    if (enabled && timer === undefined && o.link.channel !== undefined) timer = o.clock.setTimeout(tick, o.everyMs);
  };
  return {
    heard,
    enable: () => {
      if (enabled) return;
      enabled = true;
      heard();
    },
    stop: () => {
      if (timer !== undefined) o.clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
