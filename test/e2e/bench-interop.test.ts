/**
 * bench/interop-connect.mjs (issue 17) runs end to end: a real `sigctl serve`, fresh `sigctl peer`
 * processes, libdatachannel and headless Chromium on the other side, in both offer directions,
 * and writes its section. Only that it runs and reports every connection is checked, never a time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runNode } from '../helpers/cli-run.js';
import { requires } from '../helpers/requires.js';

const SCRIPT = fileURLToPath(new URL('../../bench/interop-connect.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Row {
  scenario: string;
  ms: number[];
  failures: string[];
  skipped?: string;
  p50: number;
}

describe('bench/interop-connect.mjs', requires('chromium'), () => {
  it('connects `sigctl peer` with libdatachannel and Chromium in both directions and writes its section', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigctl-interop-'));
    dirs.push(dir);
    const section = join(dir, 'section.md');
    const r = await runNode(SCRIPT, ['--connections', '2', '--json', '--section', section], { timeoutMs: 170_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout.trim()) as { results: Row[]; loadBefore: number };
    expect(doc.results.map((x) => x.scenario)).toEqual(['ndc-answers', 'ndc-offers', 'chromium-answers', 'chromium-offers']);
    for (const row of doc.results) {
      expect(row.skipped, row.scenario).toBeUndefined();
      expect(row.failures, row.scenario).toEqual([]);
      expect(row.ms, row.scenario).toHaveLength(2);
      expect(row.p50, row.scenario).toBeGreaterThan(0);
    }
    const text = readFileSync(section, 'utf8');
    expect(text).toContain('node bench/interop-connect.mjs --connections 2');
    expect(text).toMatch(/load average [\d.]+ before/);
    expect(text).toMatch(/\| `sigctl peer` offers, libdatachannel answers \| 2\/2 \|/);
    expect(text).toMatch(/\| Chromium offers, `sigctl peer` answers \| 2\/2 \|/);
  }, 180_000);
});
