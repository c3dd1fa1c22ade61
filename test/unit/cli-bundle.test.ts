/**
 * The `sigctl` binary runs the CLI bundle that `npm run build` makes (rollup.config.mjs): zod and
 * chalk inlined, zod's locales left out, the rest imported from node_modules. The e2e tests spawn
 * bin/sigctl, so they all run the bundle; this checks its shape.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const bundleDir = join(root, 'dist/bundle');

async function chunks(): Promise<Array<{ name: string; code: string }>> {
  const names = (await readdir(bundleDir)).filter((n) => n.endsWith('.js'));
  return Promise.all(names.map(async (name) => ({ name, code: await readFile(join(bundleDir, name), 'utf8') })));
}

/** Bare package names a chunk imports (statements `import ... from 'x'`, `import 'x'`, `export ... from 'x'`, and `import('x')`). */
function importedPackages(code: string): Set<string> {
  const out = new Set<string>();
  const statements = /^\s*(?:import|export)\b[^'"\n]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of code.matchAll(statements)) {
    const id = (m[1] ?? m[2] ?? m[3])!;
    if (id.startsWith('node:') || id.startsWith('.')) continue;
    out.add(id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]!);
  }
  return out;
}

describe('the CLI bundle', () => {
  it('is what bin/sigctl loads', async () => {
    const bin = await readFile(join(root, 'bin/sigctl'), 'utf8');
    expect(bin).toMatch(/import\('\.\.\/dist\/bundle\/main\.js'\)/);
    const main = (await import(join(bundleDir, 'main.js'))) as { main?: unknown };
    expect(typeof main.main).toBe('function');
  });

  it('inlines zod and chalk, without zod locales, and imports werift, ws and commander from node_modules', async () => {
    const all = await chunks();
    expect(all.length).toBeGreaterThan(5);
    const packages = new Set(all.flatMap((c) => [...importedPackages(c.code)]));
    expect(packages.has('zod')).toBe(false);
    expect(packages.has('chalk')).toBe(false);
    for (const external of ['werift', 'ws', 'commander']) expect(packages, external).toContain(external);
    const code = all.map((c) => c.code).join('\n');
    expect(code).toMatch(/Invalid input: expected/); // zod's English messages are in
    expect(code).not.toMatch(/Ungültige Eingabe/); // its German locale (and the other 63) are not
  });
});
