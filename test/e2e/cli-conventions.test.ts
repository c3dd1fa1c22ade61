import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigctl-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('sigctl CLI conventions', () => {
  it('--version prints the package and protocol version', async () => {
    const r = await runCli(['--version'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sigctl \d+\.\d+\.\d+ \(protocol v1\)\n$/);
  });

  it('--help lists every command and the exit codes', async () => {
    const r = await runCli(['--help'], { cwd: dir });
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'peer', 'bench', 'token', 'config']) expect(r.stdout).toContain(cmd);
    expect(r.stdout).toContain('Exit codes');
  });

  it('an unknown flag is a usage error with code USAGE and exit 2', async () => {
    const r = await runCli(['--definitely-not-a-flag'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error USAGE:');
    expect(r.stdout).toBe('');
  });

  it('config print --json prints exactly one JSON document with sources', async () => {
    const r = await runCli(['config', 'print', '--json'], { cwd: dir, env: { SIGCTL_PORT: '9999' } });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { config: { port: number }; sources: Record<string, string> };
    expect(doc.config.port).toBe(9999);
    expect(doc.sources.port).toBe('env:SIGCTL_PORT');
    expect(doc.sources.host).toBe('default');
  });

  it('config print redacts secrets', async () => {
    writeFileSync(join(dir, '.sigctlrc.json'), JSON.stringify({ ice: { turn: [{ urls: ['turn:127.0.0.1:3478'], secret: 'very-secret-value' }] } }));
    try {
      const r = await runCli(['config', 'print'], { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('very-secret-value');
      expect(r.stdout).toContain('[redacted]');
    } finally {
      rmSync(join(dir, '.sigctlrc.json'));
    }
  });

  it('a bad config value exits 2 naming the key, without colour under NO_COLOR', async () => {
    const r = await runCli(['config', 'check'], { cwd: dir, env: { SIGCTL_ROOMS_CAPACITY: '0', NO_COLOR: '1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain('rooms.capacity');
    expect(r.stderr).not.toMatch(ANSI);
  });

  it('--no-color turns colour off even when forced', async () => {
    const r = await runCli(['--no-color', 'config', 'check'], { cwd: dir, env: { SIGCTL_PORT: 'x', FORCE_COLOR: '1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(ANSI);
  });
});
