/**
 * The one teardown of a server, for every way it ends: `close()`, the end of a drain, and a
 * start-up that failed half way (the port taken, the STUN port taken, unreadable TLS files). Start-up
 * hands each part over as soon as it exists (`own`); `run()` undoes whatever is owned, in one
 * order, once: a second call (or a close during a drain) gets the same promise.
 *
 * Order: timers first (nothing new starts), then no new sockets and the open ones terminated, then
 * the members (released from a shared store, which no other node would clean up), then the
 * listening sockets, then the store. A step that throws is logged and the rest still run; the
 * first error rejects `run()`.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { StunResponder } from '../stun/responder.js';
import type { FrontDoor } from './front-door.js';
import type { PendingHandshakes } from './handshake.js';
import type { Hub } from './hub.js';
import type { Listener } from './listener.js';
import type { ServerPhase } from './phase.js';

/** The parts a teardown undoes; each is handed over once it exists. */
export interface TeardownParts {
  /** Stop functions of timers and subscriptions (heartbeat, load report, store health). */
  stops: Array<() => void>;
  /** Async closers of other parts (e.g. a webhook dispatcher), run after the hub closed, beside the listener. */
  closers: Array<() => Promise<void>>;
  pending?: PendingHandshakes;
  frontDoor?: FrontDoor;
  hub?: Hub;
  listener?: Listener;
  stun?: StunResponder;
  /** The store, closed only when the server made it (`deps.store` absent). */
  ownStore?: Store;
}

/** How long a closing node of a shared store waits for its members' removal. */
const RELEASE_MS = 1000;

/** The teardown of one server. */
export class Teardown {
  private readonly parts: TeardownParts = { stops: [], closers: [] };
  private running: Promise<void> | undefined;

  constructor(
    private readonly phase: ServerPhase,
    private readonly logger: Logger,
  ) {}

  /** Hands `parts` over to the teardown (a `stop` or `close` function is added to the others). */
  own(parts: Partial<Omit<TeardownParts, 'stops' | 'closers'>> & { stop?: () => void; close?: () => Promise<void> }): void {
    const { stop, close, ...rest } = parts;
    if (stop !== undefined) this.parts.stops.push(stop);
    if (close !== undefined) this.parts.closers.push(close);
    Object.assign(this.parts, rest);
  }

  /** Undoes everything owned. Idempotent: every call gets the promise of the first. */
  run(): Promise<void> {
    this.running ??= this.teardown();
    return this.running;
  }

  private async teardown(): Promise<void> {
    const { parts, logger } = this;
    // A start-up that failed was never announced as listening: its teardown is not announced either.
    const announced = this.phase.current !== 'starting';
    this.phase.transition('closing');
    let failure: { err: unknown } | undefined;
    const failed = (name: string, err: unknown): void => {
      logger.error({ err, event: 'teardown-failed', step: name }, `closing the server: ${name} failed`);
      failure ??= { err };
    };
    const now = (name: string, fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        failed(name, err);
      }
    };
    const step = async (name: string, fn: () => Promise<void> | undefined): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        failed(name, err);
      }
    };
    // Synchronously, before any await: from here no timer fires and no socket is accepted.
    for (const stop of parts.stops) now('stop', stop);
    now('hub', () => parts.hub?.beginClose());
    now('handshakes', () => parts.pending?.close());
    now('connections', () => parts.frontDoor?.close());
    // Members of a shared store would otherwise stay in their rooms for good.
    if (parts.hub?.shared === true) await step('release', () => parts.hub?.releaseAll(RELEASE_MS));
    now('hub', () => parts.hub?.close());
    await Promise.all([step('listener', () => parts.listener?.close()), step('stun', () => parts.stun?.close()), ...parts.closers.map((close) => step('close', close))]);
    await step('store', () => parts.ownStore?.close());
    this.phase.transition('closed');
    if (announced) logger.info({ event: 'closed' }, 'server closed');
    if (failure !== undefined) throw failure.err;
  }
}
