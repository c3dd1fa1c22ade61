/**
 * The call app in Chromium when the network gets in the way: relay-only through a real coturn
 * (TURN REST credentials from `welcome`), a dropped signaling connection that resumes without
 * touching the call, and a camera that was refused at first and turned on later (renegotiation).
 * One browser for the file.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { startCoturn, type Coturn } from '../helpers/auth-coturn.js';
import { startTestServer } from '../helpers/server-harness.js';
import { appUrl, launchChromium, openApp, remoteVideoPlays, textShows, tileBecomes, waitState, type AppPage } from '../helpers/web-app.js';
import { requires } from '../helpers/requires.js';

let browser: Browser;
const pages: AppPage[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  // Permissions per context, so that one page can be refused the camera.
  browser = await launchChromium({ prompts: true });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.close()));
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function server(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<SignalingServer> {
  const s = await startTestServer(overrides);
  closers.push(() => s.close());
  return s;
}

async function open(url: string, permissions?: string[]): Promise<AppPage> {
  const p = await openApp(browser, url, { permissions });
  pages.push(p);
  return p;
}

/** A TCP proxy to `port` whose open connections can be cut at once (a network drop, no close frame). */
async function tcpProxy(port: number): Promise<{ url: string; cut: () => void }> {
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    proxy.close(() => resolve());
  }));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

// Generous limits: Chromium shares two cores with other test files.
describe('the call app and the network', { timeout: 90_000, ...requires('chromium', 'turnserver') }, () => {
  it('connects relay/relay through coturn with ?relay=1 and the credentials from welcome', async () => {
    const turn: Coturn = await startCoturn();
    closers.push(() => turn.stop());
    const s = await server({ ice: { turn: [{ urls: [turn.url], secret: turn.secret }] } });
    const a = await open(appUrl(s.httpUrl, 'relay-1', 'alice', '&relay=1'));
    const b = await open(appUrl(s.httpUrl, 'relay-1', 'bob', '&relay=1'));
    await Promise.all([waitState(a.page, 'connected', 30_000), waitState(b.page, 'connected', 30_000)]);
    await Promise.all([remoteVideoPlays(a.page), remoteVideoPlays(b.page)]);
    await Promise.all([tileBecomes(a.page, 'data-pair', 'relay'), tileBecomes(b.page, 'data-pair', 'relay')]);
  });

  it('resumes after the signaling connection drops, keeping the call and the member id', async () => {
    const s = await server();
    const proxy = await tcpProxy(s.port);
    const a = await open(appUrl(proxy.url, 'drop-1', 'alice'));
    const b = await open(appUrl(s.httpUrl, 'drop-1', 'bob'));
    await Promise.all([waitState(a.page, 'connected'), waitState(b.page, 'connected')]);
    const aliceId = await b.page.getAttribute('[data-peer-id]', 'data-peer-id');
    proxy.cut();
    await textShows(a.page, '#status', 'resumed', 20_000);
    // Signaling works again under the same id: alice's mute reaches bob's tile for her.
    await a.page.click('[data-testid=toggle-audio]');
    await tileBecomes(b.page, 'data-audio', 'off');
    expect(await b.page.getAttribute('[data-peer-id]', 'data-peer-id')).toBe(aliceId);
    expect(await a.page.getAttribute('body', 'data-state')).toBe('connected');
  });

  it('says why when the camera is refused, then renegotiates when it is turned on later', async () => {
    const s = await server();
    const b = await open(appUrl(s.httpUrl, 'late-1', 'bob'));
    await waitState(b.page, 'waiting');
    // alice's browser refuses the camera: she joins with audio only and is told so.
    const a = await open(appUrl(s.httpUrl, 'late-1', 'alice'), ['microphone']);
    const page = a.page;
    await Promise.all([waitState(page, 'connected'), waitState(b.page, 'connected')]);
    await textShows(page, '#notice', 'permission was denied');
    await tileBecomes(b.page, 'data-video', 'off');
    await tileBecomes(b.page, 'data-audio', 'on');
    // She allows it and turns the camera on: a renegotiation, and bob sees her video.
    await a.context.grantPermissions(['camera', 'microphone'], { origin: s.httpUrl });
    await page.click('[data-testid=toggle-video]');
    await tileBecomes(b.page, 'data-video', 'on');
    await remoteVideoPlays(b.page);
    await remoteVideoPlays(page);
  });

  it('settles crossing offers when both members turn their camera on at once (perfect negotiation)', async () => {
    const s = await server();
    const a = await open(appUrl(s.httpUrl, 'glare-1', 'alice'), ['microphone']);
    await waitState(a.page, 'waiting');
    const b = await open(appUrl(s.httpUrl, 'glare-1', 'bob'), ['microphone']);
    await Promise.all([waitState(a.page, 'connected'), waitState(b.page, 'connected')]);
    await Promise.all([tileBecomes(a.page, 'data-video', 'off'), tileBecomes(b.page, 'data-video', 'off')]);
    await Promise.all([a, b].map((p) => p.context.grantPermissions(['camera', 'microphone'], { origin: s.httpUrl })));
    // Both renegotiate at the same moment: one of them is polite and rolls back.
    await Promise.all([a.page.click('[data-testid=toggle-video]'), b.page.click('[data-testid=toggle-video]')]);
    await Promise.all([tileBecomes(a.page, 'data-video', 'on'), tileBecomes(b.page, 'data-video', 'on')]);
    await Promise.all([remoteVideoPlays(a.page), remoteVideoPlays(b.page)]);
    expect(await a.page.getAttribute('body', 'data-state')).toBe('connected');
  });
});
