/**
 * Finds the version of the werift package that `import 'werift'` resolves to.
 *
 * werift's package.json "exports" does not expose "./package.json", so we resolve the package
 * entry point and walk up to the nearest package.json named "werift".
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The one werift version these patches were written against (package.json pins it exactly). */
export const PATCHED_WERIFT_VERSION = '0.24.4';

/** Returns werift's installed version, or undefined when it cannot be determined. */
export function installedWeriftVersion(fromUrl: string = import.meta.url): string | undefined {
  let dir: string;
  try {
    dir = dirname(createRequire(fromUrl).resolve('werift'));
  } catch {
    return undefined;
  }
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'werift' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json at this level: keep walking up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}
