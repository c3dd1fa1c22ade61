// The CLI as the `sigctl` binary loads it: tsc's dist/cli/main.js and everything it imports,
// bundled by rollup into dist/bundle/ (one chunk per lazily loaded command), with the ESM
// packages it uses inlined. A fresh `sigctl peer` then opens 98 JavaScript files instead of 236: zod alone
// is 99 modules, 64 of them locales its entry point always loads and the bundle drops. That is
// 25-40 ms of a fresh `sigctl peer`'s start (docs/werift-patches.md, "The CLI bundle, before/after").
//
// Only the CLI is bundled. The library entry points (dist/index.js, dist/peer/index.js) and the
// bench's worker and preload modules (loaded by URL from dist/bench/, see src/bench/worker-url.ts)
// stay tsc's output. dist/bundle/ sits as deep as dist/cli/, so the bundled code's
// `import.meta.url`-relative paths (../../package.json, ../../bin/sigctl) still hold.
//
// rollup comes as @rollup/wasm-node, its WebAssembly build: the native build depends on one
// optional package per platform, and `npm ci` refuses a lock file that lacks any of them.
import { rmSync } from 'node:fs';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const OUT = 'dist/bundle';
/** Pure-ESM packages worth inlining. Everything else (CommonJS such as ws and commander, werift, optional and native packages) is imported from node_modules at run time. */
const INLINE = new Set(['zod', 'chalk']);

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`). */
const packageOf = (id) => (id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]);

// Chunk names carry content hashes: remove the last build's, so the directory holds one build.
rmSync(OUT, { recursive: true, force: true });

export default {
  input: 'dist/cli/main.js',
  external: (id) => {
    if (id.startsWith('node:')) return true;
    // Relative and absolute paths, and package-internal `#imports` (chalk's), are part of the bundle.
    if (id.startsWith('.') || id.startsWith('/') || id.startsWith('#')) return false;
    return !INLINE.has(packageOf(id));
  },
  plugins: [nodeResolve({ exportConditions: ['node', 'import'] })],
  output: { dir: OUT, format: 'es', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js', sourcemap: true },
  onwarn(warning) {
    // zod's sources carry esbuild-style comments rollup cannot place, and our modules import each
    // other in cycles that ESM allows; anything else is a build error.
    if (warning.code === 'INVALID_ANNOTATION' || warning.code === 'CIRCULAR_DEPENDENCY') return;
    throw new Error(`rollup: ${warning.code ?? 'warning'}: ${warning.message}`);
  },
};
