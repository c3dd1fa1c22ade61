/**
 * The graceful shutdown: every client gets `bye` (reconnect elsewhere after `reconnectMs`), upgrades
 * and joins are refused, and after `drainMs`, or as soon as every client has gone on its own, the
 * rest are closed with 1001 and their members reserved for resume. A node of a shared store then
 * waits for those members to resume on other nodes (or time out and be announced) before the
 * teardown. Every wait ends early when the server is closed meanwhile: `close()` during a drain
 * wins, and the drain resolves with it.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { FrontDoor } from './front-door.js';
import type { Hub } from './hub.js';
import type { ServerPhase } from './phase.js';
import type { Teardown } from './teardown.js';

/** What the drain needs from the server. */
export interface DrainOptions {
  config: Readonly<Config>;
  logger: Logger;
  phase: ServerPhase;
  frontDoor: FrontDoor;
  hub: Hub;
  teardown: Teardown;
}

/** How long closed sockets get to finish their close handshakes before the teardown terminates them. */
const CLOSE_HANDSHAKE_MS = 1000;

/** Resolves when the first of `waits` does, or after `ms`; the timer does not outlive it. */
async function firstOf(ms: number, ...waits: Array<Promise<unknown>>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([elapsed, ...waits]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates the server's `drain()`: idempotent, every call gets the promise of the first. */
export function createDrain(o: DrainOptions): () => Promise<void> {
  let running: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    const { config, logger, phase, frontDoor, hub, teardown } = o;
    if (phase.current !== 'serving') return teardown.run();
    phase.transition('draining');
    logger.info({ event: 'draining', drainMs: config.drainMs, connections: frontDoor.size }, 'draining');
    const bye = { type: 'bye', reason: 'shutdown', reconnectMs: config.reconnectMs } as const;
    for (const conn of frontDoor.all()) conn.send(bye);
    const closing = phase.untilClosing();
    await firstOf(config.drainMs, frontDoor.whenEmpty(), closing);
    if (phase.closing) return teardown.run();
    for (const conn of [...frontDoor.all()]) frontDoor.drop(conn, CloseCode.GOING_AWAY, 'server shutting down');
    await firstOf(CLOSE_HANDSHAKE_MS, frontDoor.whenEmpty(), closing);
    if (!phase.closing && hub.shared && hub.size.members > 0) {
      // The members just closed are reserved: let them resume on other nodes (or time out and
      // be announced) before this node goes away.
      const graceMs = config.rooms.resumeGraceMs;
      logger.info({ event: 'settling', members: hub.size.members, graceMs }, 'waiting for reserved members');
      await Promise.race([hub.settle(graceMs + 500), closing]);
    }
    return teardown.run();
  };
  return () => {
    running ??= drain();
    return running;
  };
}
