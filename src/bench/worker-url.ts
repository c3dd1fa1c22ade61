/**
 * Where a bench worker's compiled module is. Workers must be JavaScript: when this code itself runs
 * from TypeScript sources (vitest), the worker is taken from the build in dist/ instead.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** URL of the compiled `src/bench/<name>.ts`. */
export function compiledWorkerUrl(name: string): URL {
  const beside = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL(`../../dist/bench/${name}.js`, import.meta.url);
}
