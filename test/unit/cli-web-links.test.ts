/**
 * The links to the browser app the CLI prints: serve's banner names a reachable address instead of
 * a wildcard, `peer` turns its WebSocket URL into the app's link to the same room, and --no-web
 * becomes the config override web.enabled=false (and only when given).
 */
import { describe, expect, it } from 'vitest';
import { browserLink, reachableUrl } from '../../src/cli/reachable.js';
import { serveFlags } from '../../src/cli/commands/serve-run.js';

describe('links to the browser app', () => {
  it('replaces a wildcard host with a reachable address and leaves others alone', () => {
    expect(reachableUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/');
    for (const wildcard of ['http://0.0.0.0:8080/', 'http://[::]:8080/']) {
      const u = new URL(reachableUrl(wildcard));
      expect(u.hostname).not.toMatch(/^(0\.0\.0\.0|\[::\])$/);
      expect(u.port).toBe('8080');
    }
  });

  it("turns peer's WebSocket URL into the app's link to the same room", () => {
    expect(browserLink('ws://127.0.0.1:8080/ws', 'demo')).toBe('http://127.0.0.1:8080/?room=demo');
    expect(browserLink('wss://sig.example.com/signal?token=secret', 'team:42')).toBe('https://sig.example.com/?room=team%3A42');
  });

  it('maps --no-web to web.enabled=false and nothing else to it', () => {
    expect(serveFlags({ web: false })).toContainEqual({ path: 'web.enabled', flag: '--no-web', value: false });
    expect(serveFlags({ web: true }).some((f) => f.path === 'web.enabled')).toBe(false);
  });
});
