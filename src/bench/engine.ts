/**
 * Data-channel engines for the connect and throughput scenarios. Each engine connects a pair of
 * its own peers through the signaling server under test and hands the peer worker two channels
 * with one shape, so that the bulk transfer and the pings are the same code for every engine:
 * werift (what sigctl ships, through the peer session API) and libdatachannel (npm
 * node-datachannel, an optional dependency) for a side-by-side comparison.
 *
 * An engine module is imported only inside a peer worker, and only the one that was asked for:
 * neither werift (most of a fresh peer's start-up: BENCHMARKS.md, "A fresh `sigctl peer` process")
 * nor the native libdatachannel ever loads in the CLI's thread.
 * What engines share with the worker (the channel and engine shapes) is in engine-types.ts, so an
 * engine never imports this module back.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isSigctlError, SigctlError } from '../protocol/errors.js';
import type { PairEngine } from './engine-types.js';
import type { Engine } from './peer-messages.js';

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
