/**
 * No import cycles inside src/peer (issue 12): the patch registry and the patches once imported
 * each other for the WeriftPatch type. Reads the relative imports of every file (type-only ones
 * too: a cycle of types still ties the modules together) and looks for a loop.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/peer');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative imports and re-exports of `file` that stay inside src/peer, as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts'))).filter((p) => p.startsWith(ROOT));
}

/** Every cycle found by a depth-first walk, each as the list of files on it. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('src/peer imports', () => {
  it('finds a cycle when there is one (the checker itself)', () => {
    const graph = new Map([
      ['index', ['a', 'b']],
      ['a', ['index']],
      ['b', []],
    ]);
    expect(findCycles(graph)).toEqual([['index', 'a', 'index']]);
  });

  it('has no import cycle', () => {
    const all = files(ROOT);
    expect(all.length).toBeGreaterThan(10);
    const graph = new Map(all.map((f) => [f, importsOf(f)]));
    const named = findCycles(graph).map((c) => c.map((f) => relative(ROOT, f)).join(' -> '));
    expect(named).toEqual([]);
  });
});
