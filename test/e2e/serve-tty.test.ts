/**
 * `sigctl serve` on a real terminal (tmux): readable log lines, never a raw JSON line, and Ctrl-C
 * drains and exits 0.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startPane, type Pane } from '../helpers/tmux-pane.js';
import { requires } from '../helpers/requires.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('sigctl serve on a terminal (tmux)', requires('tmux'), () => {
  const panes: Pane[] = [];
  afterEach(async () => {
    await Promise.all(panes.splice(0).map((p) => p.close()));
  });

  it('prints readable log lines (no JSON) and stops with exit 0 on Ctrl-C', async () => {
    const pane = await startPane(`${JSON.stringify(process.execPath)} bin/sigctl serve --port 0`, { SIGCTL_DRAIN_MS: '0', NO_COLOR: '1' }, ROOT);
    panes.push(pane);
    const screen = await pane.waitFor(/nodes +http:\/\/127\.0\.0\.1:\d+\/v1\/nodes/, 20_000, 'the banner');
    expect(screen).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening event=listening/m);
    expect(screen).toMatch(/^sigctl serve listening on http:\/\/127\.0\.0\.1:\d+ \(protocol v1\)$/m);
    expect(screen).not.toContain('{"level"');
    await pane.keys(['C-c']);
    const after = await pane.waitFor(/EXIT=\d+/, 15_000, 'the exit');
    expect(after).toMatch(/INFO {2}shutting down event=signal signal=SIGINT/);
    expect(after).toContain('EXIT=0');
    expect(after).not.toContain('{"level"');
  });

  it('--log-format json keeps JSON lines on a terminal', async () => {
    const pane = await startPane(`${JSON.stringify(process.execPath)} bin/sigctl serve --port 0 --log-format json`, { SIGCTL_DRAIN_MS: '0', NO_COLOR: '1' }, ROOT);
    panes.push(pane);
    const screen = await pane.waitFor(/\/v1\/ice-servers/, 20_000, 'the banner');
    expect(screen).toMatch(/^\{"level":30,.*"event":"listening"/m);
    await pane.keys(['C-c']);
    expect(await pane.waitFor(/EXIT=\d+/, 15_000, 'the exit')).toContain('EXIT=0');
  });
});
