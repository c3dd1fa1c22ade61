/**
 * The browser call app in real headless Chromium (fake camera and microphone), driven only through
 * the automation contract of docs/web.md: two pages in a call (video both ways, chat both ways,
 * mute seen by the other, nothing loaded from elsewhere), a reload coming back into the call, and
 * a page with `sigctl peer` (chat with --echo, a file to --recv). One browser for the file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../../src/server/index.js';
import { startCli, stopAll } from '../helpers/peer-cli.js';
import { startTestServer } from '../helpers/server-harness.js';
import { appUrl, chatShows, launchChromium, openApp, remoteVideoPlays, sendChat, tileBecomes, tileReplaced, waitState, type AppPage } from '../helpers/web-app.js';
import { requires } from '../helpers/requires.js';

let server: SignalingServer;
let browser: Browser;
const pages: AppPage[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.close()));
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(room: string, name: string): Promise<AppPage> {
  const p = await openApp(browser, appUrl(server.httpUrl, room, name));
  pages.push(p);
  return p;
}

// Generous limits: Chromium shares two cores with other test files.
describe('the call app in Chromium', { timeout: 90_000, ...requires('chromium') }, () => {
  it('connects two pages: video plays both ways, chat both ways, mute and camera-off show on the other page', async () => {
    const a = await open('call-1', 'alice');
    await waitState(a.page, 'waiting');
    const b = await open('call-1', 'bob');
    await Promise.all([waitState(a.page, 'connected'), waitState(b.page, 'connected')]);
    await Promise.all([remoteVideoPlays(a.page), remoteVideoPlays(b.page)]);
    expect(await a.page.textContent('[data-peer-id] .name')).toBe('bob');

    await sendChat(a.page, 'hello from alice');
    await chatShows(b.page, 'alice: hello from alice');
    await sendChat(b.page, 'hi alice');
    await chatShows(a.page, 'bob: hi alice');
    await chatShows(a.page, 'You: hello from alice');

    await tileBecomes(b.page, 'data-audio', 'on');
    await a.page.click('[data-testid=toggle-audio]');
    await tileBecomes(b.page, 'data-audio', 'off');
    await a.page.click('[data-testid=toggle-video]');
    await tileBecomes(b.page, 'data-video', 'off');
    await a.page.click('[data-testid=toggle-audio]');
    await tileBecomes(b.page, 'data-audio', 'on');

    // The stats panel names the candidate pair (host on loopback).
    await tileBecomes(a.page, 'data-pair', 'host');
    // Everything the pages loaded came from the server itself.
    const foreign = [...a.requests, ...b.requests].filter((u) => !u.startsWith(`${server.httpUrl}/`));
    expect(foreign).toEqual([]);
    expect(a.requests.length).toBeGreaterThan(3);
  });

  it('brings a reloaded page back into the call', async () => {
    const a = await open('call-2', 'alice');
    const b = await open('call-2', 'bob');
    await Promise.all([waitState(a.page, 'connected'), waitState(b.page, 'connected')]);
    const before = await a.page.getAttribute('[data-peer-id]', 'data-peer-id');
    await b.page.reload({ timeout: 15_000 });
    await Promise.all([waitState(b.page, 'connected'), remoteVideoPlays(b.page)]);
    // On the other page the old member's tile is gone and the new one plays.
    await tileReplaced(a.page, before);
    await remoteVideoPlays(a.page);
  });

  it('chats with sigctl peer --echo', async () => {
    const echo = startCli(['peer', '--url', server.url, '--room', 'call-3', '--name', 'echo-bot', '--echo', '--json', '--timeout', '60']);
    await echo.waitForLine((l) => l.includes('"type":"joined"'), 15_000, 'echo peer joined');
    const a = await open('call-3', 'alice');
    await waitState(a.page, 'connected');
    await sendChat(a.page, 'ping 42');
    await chatShows(a.page, 'echo-bot: ping 42');
    await echo.waitForLine((l) => l.includes('"type":"message"') && l.includes('ping 42'), 10_000, 'the peer got the message');
    // A data-only member: its tile says it sends neither audio nor video.
    expect(await a.page.getAttribute('[data-peer-id]', 'data-audio')).toBe('off');
  });

  it('sends a file to sigctl peer --recv with a matching SHA-256', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigctl-web-recv-'));
    dirs.push(dir);
    const a = await open('call-4', 'alice');
    await waitState(a.page, 'waiting');
    // The peer joins second: it offers and the page answers.
    const recv = startCli(['peer', '--url', server.url, '--room', 'call-4', '--name', 'receiver', '--recv', dir, '--count', '1', '--json', '--timeout', '60']);
    await waitState(a.page, 'connected');
    const payload = randomBytes(700 * 1024 + 123);
    await a.page.setInputFiles('#file', { name: 'payload.bin', mimeType: 'application/octet-stream', buffer: payload });
    await a.page.click('#file-form button');
    expect((await recv.exit(30_000)).code).toBe(0);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(sha(readFileSync(join(dir, 'payload.bin')))).toBe(sha(payload));
    await a.page.waitForSelector('[data-transfer][data-done=ok]', { timeout: 10_000 });
  });
});
