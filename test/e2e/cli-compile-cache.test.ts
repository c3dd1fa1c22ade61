/**
 * bin/sigctl turns on Node's module compile cache where Node has one (22.1+) and starts as before
 * where it has not (Node 20): the CLI runs either way, and with the API present the cache
 * directory it was pointed at receives the compiled code.
 */
import module from 'node:module';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('bin/sigctl compile cache', () => {
  it('runs on this Node and fills NODE_COMPILE_CACHE when Node has module.enableCompileCache', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'sigctl-ccache-'));
    dirs.push(cache);
    const r = await runCli(['--version'], { env: { NODE_COMPILE_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: undefined } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sigctl \d+\.\d+\.\d+/);
    const hasApi = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
    const entries = readdirSync(cache, { recursive: true });
    if (hasApi) expect(entries.length).toBeGreaterThan(0);
    else expect(entries).toEqual([]);
  });
});
