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
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

const OUT = 'dist/bundle';
/** Pure-ESM packages worth inlining. Everything else (CommonJS such as ws and commander, werift, optional and native packages) is imported from node_modules at run time. */
const INLINE = new Set(['zod', 'chalk']);

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`). */
const packageOf = (id) => (id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]);

// Chunk names carry content hashes: remove the last build's, so the directory holds one build.
rmSync(OUT, { recursive: true, force: true });

const cli = {
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

// The browser side (docs/web.md), from tsc's output of tsconfig.web.json in .web-build/:
// dist/web/sigctl-client.js, the browser SignalClient as one self-contained ES module (zod
// inlined), and dist/web/app.js, the call app, which imports that same module at run time rather
// than carrying a second copy. Both are minified (terser): the whole app must stay well under
// 100 KB gzipped (bench/web-call.mjs measures it). The static files (HTML, CSS, icon) are copied as they are.
const WEB = 'dist/web';
const WEB_STATIC = 'src/web/static';
rmSync(WEB, { recursive: true, force: true });

const failOnWarning = (warning) => {
  if (warning.code === 'INVALID_ANNOTATION' || warning.code === 'CIRCULAR_DEPENDENCY') return;
  throw new Error(`rollup: ${warning.code ?? 'warning'}: ${warning.message}`);
};

const client = {
  input: '.web-build/client/browser.js',
  plugins: [nodeResolve({ browser: true, exportConditions: ['browser', 'import', 'default'] }), terser({ ecma: 2022, module: true })],
  output: { file: `${WEB}/sigctl-client.js`, format: 'es' },
  onwarn: failOnWarning,
};

const CLIENT_MODULE = /[\\/]client[\\/]browser\.js$/;
const app = {
  input: '.web-build/web/app/main.js',
  external: (id) => CLIENT_MODULE.test(id),
  plugins: [
    terser({ ecma: 2022, module: true }),
    {
      name: 'sigctl-web-static',
      generateBundle() {
        for (const fileName of readdirSync(WEB_STATIC)) this.emitFile({ type: 'asset', fileName, source: readFileSync(`${WEB_STATIC}/${fileName}`) });
      },
    },
  ],
  output: { dir: WEB, format: 'es', entryFileNames: 'app.js', paths: (id) => (CLIENT_MODULE.test(id) ? './sigctl-client.js' : id) },
  onwarn: failOnWarning,
};

export default [cli, client, app];
