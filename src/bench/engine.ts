/**
 * Data-channel engines for the connect and throughput scenarios. Each engine connects a pair of
 * its own peers through the signaling server under test and hands the peer worker two channels
 * with one shape, so that the bulk transfer and the pings are the same code for every engine:
 * werift (what sigctl ships, through the peer session API) and libdatachannel (npm
 * node-datachannel, an optional dependency) for a side-by-side comparison.
 *
 * An engine module is imported only inside a peer worker, and only the one that was asked for:
 * neither werift (~0.5 s to load) nor the native libdatachannel ever loads in the CLI's thread.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import type { Engine, EnginePatches, PairResult } from './peer-messages.js';

/** One end of a measured data channel, whatever the engine. */
export interface BenchChannel {
  readonly isOpen: boolean;
  readonly bufferedAmount: number;
  /** In-order delivery as this end knows it (the answering end learns it from the DCEP open). */
  readonly ordered: boolean;
  /** Sends now; throws a SigctlError when the channel is not open. */
  send(data: string | Buffer): void;
  /** Sends after waiting until the engine's queue is below the high-water mark (backpressure). */
  sendWithBackpressure(data: Buffer, options: { signal?: AbortSignal }): Promise<void>;
  /** Adds a message listener; returns a function that removes it. */
  onMessage(listener: (data: string | Buffer) => void): () => void;
}

/** What a pair is connected with. */
export interface PairSpec {
  index: number;
  room: string;
  /** The URL of the first peer (joins first, answers) and of the second (newcomer, offers). */
  urls: readonly [string, string];
  /** Start to open channel, ms. */
  timeoutMs: number;
  ordered: boolean;
  bindAddress?: string | undefined;
  token?: string | undefined;
}

/** A connected pair: the newcomer's channel sends, the first peer's receives and echoes pings. */
export interface ConnectedPair {
  sender: BenchChannel;
  receiver: BenchChannel;
  /** The newcomer's timeline (ms since its start): see PairResult. */
  at: PairResult['at'];
  candidatePair: string | null;
}

/** An engine inside one peer worker. */
export interface PairEngine {
  readonly name: Engine;
  /** Work done before any pair is timed (werift: certificate generation and JIT warm-up). */
  warmUp(): Promise<void>;
  /** Connects one pair; rejects with a SigctlError. Whatever it opened is closed by close(). */
  connectPair(spec: PairSpec): Promise<ConnectedPair>;
  /** Closes every peer and connection this engine opened (idempotent, bounded). */
  close(): Promise<void>;
  /** The runtime patches the engine runs with (werift), for the report; undefined for an engine without any. */
  patches?(): EnginePatches | undefined;
}

/** The npm package behind each engine. */
export const ENGINE_PACKAGES: Readonly<Record<Engine, string>> = { werift: 'werift', 'node-datachannel': 'node-datachannel' };

/** The installed version of `pkg` (read from its package.json, without loading it), or null. */
export function packageVersion(pkg: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 8; i++) {
      try {
        const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (meta.name === pkg && typeof meta.version === 'string') return meta.version;
      } catch {
        // no package.json at this level
      }
      dir = dirname(dir);
    }
  } catch {
    // not installed
  }
  return null;
}

/**
 * The engine's version; throws ENGINE_MISSING when its package is not installed. `pkg` overrides
 * the package looked for (tests name one that is surely absent).
 */
export function requireEngine(engine: Engine, pkg: string = ENGINE_PACKAGES[engine]): string {
  const version = packageVersion(pkg);
  if (version === null) {
    const hint = engine === 'node-datachannel' ? ' (an optional dependency: npm install node-datachannel)' : '';
    throw new SigctlError('ENGINE_MISSING', `engine ${engine} is not available: the ${pkg} package is not installed${hint}`);
  }
  return version;
}

/** Loads an engine inside a peer worker. */
export async function loadEngine(engine: Engine): Promise<PairEngine> {
  try {
    if (engine === 'node-datachannel') return (await import('./engine-ndc.js')).createNdcEngine();
    return (await import('./engine-werift.js')).createWeriftEngine();
  } catch (err) {
    if (isSigctlError(err)) throw err;
    throw new SigctlError('ENGINE_MISSING', `engine ${engine} could not be loaded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Runs `start` (which subscribes and returns its unsubscribe); rejects with TIMEOUT after `ms`. */
export function within<T>(ms: number, what: string, start: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: () => void = () => undefined;
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      cleanup();
      reject(new SigctlError('TIMEOUT', `${what} did not happen within ${ms} ms`));
    }, ms);
    cleanup = start(
      (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cleanup();
        resolve(v);
      },
      (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cleanup();
        reject(e);
      },
    );
    // `start` may have settled synchronously, before `cleanup` was assigned.
    if (settled) cleanup();
  });
}
