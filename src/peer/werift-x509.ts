/**
 * Loading werift without loading @peculiar/x509 (issue 5: a fresh `sigctl peer` connected soon
 * after start). werift 0.24.4's bundle imports @peculiar/x509 at its top (with tsyringe,
 * reflect-metadata, asn1js and eight @peculiar/asn1-* schema packages: ~200 CommonJS modules,
 * about a third of `import 'werift'`; figures and command in docs/werift-patches.md, "A fresh
 * `sigctl peer` process") only to make its self-signed DTLS
 * certificate, which sigctl makes itself (./certificate.ts). The upstream fix is a dynamic import
 * inside `CipherContext.createSelfSignedCertificateWithKey`; until then deferX509Load() puts a
 * stand-in for @peculiar/x509 into the CommonJS module cache before werift is first imported.
 *
 * The stand-in has the three names werift's bundle uses: `cryptoProvider.set()` (called when the
 * bundle is evaluated; recorded and replayed), `X509CertificateGenerator` and `PemConverter`
 * (used only if some werift peer connection makes werift's own certificate: the first use loads
 * the real module and forwards to it, so that still works, only later). The real module then
 * replaces the stand-in in the cache. Until that first use, other code that loads @peculiar/x509
 * itself gets the stand-in (and an ES module importing it shares the stand-in's namespace for
 * good): so this is opt-in, for a process that is only a sigctl peer (the CLI calls it).
 *
 * Version-gated like the patches: werift exactly 0.24.4 and @peculiar/x509 1.x, and only when
 * neither werift nor @peculiar/x509 is loaded yet (a loaded bundle means a loaded x509).
 */
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { installedWeriftVersion, PATCHED_WERIFT_VERSION } from './patches/version.js';

/** What deferX509Load() did. */
export type X509Deferral = { readonly deferred: true } | { readonly deferred: false; readonly reason: string };

const DEFERRED = Symbol.for('sigctl.werift-x509.deferred');
type GlobalWithDeferred = typeof globalThis & { [DEFERRED]?: true };

/**
 * Installs the @peculiar/x509 stand-in for werift's bundle (see the module comment). Call before
 * anything imports werift; idempotent.
 */
export function deferX509Load(fromUrl: string = import.meta.url): X509Deferral {
  const g = globalThis as GlobalWithDeferred;
  if (g[DEFERRED] === true) return { deferred: true };
  const version = installedWeriftVersion(fromUrl);
  if (version !== PATCHED_WERIFT_VERSION) return { deferred: false, reason: `werift ${version ?? '(not found)'} is installed, not ${PATCHED_WERIFT_VERSION}` };
  let requireFromWerift: NodeJS.Require;
  let file: string;
  try {
    requireFromWerift = createRequire(createRequire(fromUrl).resolve('werift'));
    file = requireFromWerift.resolve('@peculiar/x509');
  } catch {
    return { deferred: false, reason: '@peculiar/x509 not found next to werift' };
  }
  const x509Version = packageVersion(file, '@peculiar/x509');
  if (x509Version?.startsWith('1.') !== true) return { deferred: false, reason: `@peculiar/x509 ${x509Version ?? '(unknown)'} is installed, not 1.x` };
  const cache = requireFromWerift.cache;
  if (cache[file] !== undefined) return { deferred: false, reason: '@peculiar/x509 is already loaded' };

  let real: Record<string, unknown> | undefined;
  const providers: unknown[] = [];
  const loadReal = (): Record<string, unknown> => {
    if (real === undefined) {
      delete cache[file]; // the real module takes the stand-in's place in the cache
      real = requireFromWerift(file) as Record<string, unknown>;
      const provider = real.cryptoProvider as { set(p: unknown): void };
      for (const p of providers) provider.set(p);
    }
    return real;
  };
  const forward = (name: string): object =>
    new Proxy(
      {},
      {
        get(_target, prop) {
          const target = loadReal()[name] as Record<string | symbol, unknown>;
          const value = target[prop];
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      },
    );
  const standIn = {
    cryptoProvider: {
      set(provider: unknown): void {
        if (real === undefined) providers.push(provider);
        else (real.cryptoProvider as { set(p: unknown): void }).set(provider);
      },
    },
    X509CertificateGenerator: forward('X509CertificateGenerator'),
    PemConverter: forward('PemConverter'),
  };
  const entry = new Module(file);
  entry.filename = file;
  entry.loaded = true;
  entry.exports = standIn;
  cache[file] = entry;
  g[DEFERRED] = true;
  return { deferred: true };
}

function packageVersion(entry: string, name: string): string | undefined {
  let dir = dirname(entry);
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === name && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json at this level: keep walking up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}
