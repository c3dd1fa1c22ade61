/**
 * `sigctl serve` on a real terminal (tmux): readable log lines, never a raw JSON line, and Ctrl-C
 * drains and exits 0.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { requires } from '../helpers/requires.js';
import { Tty } from '../helpers/tty.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('sigctl serve on a terminal (tmux)', requires('tmux'), () => {
  const panes: Tty[] = [];
  afterEach(async () => {
    await Promise.all(panes.splice(0).map((p) => p.close()));
  });
  const serve = async (...flags: string[]): Promise<Tty> => {
    const pane = await Tty.start([process.execPath, 'bin/sigctl', 'serve', '--port', '0', ...flags], { cwd: ROOT, env: { SIGCTL_DRAIN_MS: '0' }, columns: 160, rows: 50, history: 200 });
    panes.push(pane);
    return pane;
  };

  it('prints readable log lines (no JSON) and stops with exit 0 on Ctrl-C', async () => {
    const pane = await serve();
    const screen = await pane.waitFor(/nodes +http:\/\/127\.0\.0\.1:\d+\/v1\/nodes/, 20_000, 'the banner');
    expect(screen).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening event=listening/m);
    expect(screen).toMatch(/^sigctl serve listening on http:\/\/127\.0\.0\.1:\d+ \(protocol v1\)$/m);
    expect(screen).not.toContain('{"level"');
    await pane.keys(['C-c']);
    expect(await pane.exitCode(15_000)).toBe(0);
    const after = await pane.screen();
    expect(after).toMatch(/INFO {2}shutting down event=signal signal=SIGINT/);
    expect(after).not.toContain('{"level"');
  });

  it('--log-format json keeps JSON lines on a terminal', async () => {
    const pane = await serve('--log-format', 'json');
    const screen = await pane.waitFor(/\/v1\/ice-servers/, 20_000, 'the banner');
    expect(screen).toMatch(/^\{"level":30,.*"event":"listening"/m);
    await pane.keys(['C-c']);
    expect(await pane.exitCode(15_000)).toBe(0);
  });
});
