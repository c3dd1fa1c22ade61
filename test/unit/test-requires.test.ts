/**
 * The requires() mechanism (test/helpers/requires.ts) as `npm test` uses it, on a machine with
 * only Node: vitest runs a fixture suite with PATH holding nothing but `node`. The suite that needs
 * redis-server and tmux is skipped, the run passes, and ONE line names the suite, the number of
 * tests and the apt-get line. Under CI=true the same run fails.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'sigctl-only-node-'));
mkdirSync(join(dir, 'bin'));
symlinkSync(process.execPath, join(dir, 'bin', 'node'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vitestOnlyNode(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(dir, 'bin', 'node'),
      [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(root, 'test/fixtures/requires/vitest.config.ts')],
      { cwd: root, env: { PATH: join(dir, 'bin'), HOME: dir, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vitest did not finish within 60 s:\n${out}`));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('requires(): suites that need a system program', () => {
  it('skip on a machine with only Node, with one summary line naming suite, count and apt-get line', async () => {
    const { code, out } = await vitestOnlyNode({});
    expect(code, out).toBe(0);
    const lines = out.split('\n').filter((l) => l.startsWith('SKIPPED'));
    expect(lines).toEqual([
      'SKIPPED 2 test(s) in 1 suite(s) because redis-server, tmux are not installed (needs.fixture.ts); to run them: apt-get install -y redis-server tmux',
    ]);
    expect(out).toMatch(/1 passed/);
  }, 70_000);

  it('fail the run under CI=true', async () => {
    const { code, out } = await vitestOnlyNode({ CI: 'true' });
    expect(code).not.toBe(0);
    expect(out).toContain('CI=true and redis-server, tmux are not installed: apt-get install -y redis-server tmux');
  }, 70_000);
});
