/* global document -- page functions run in Chromium */
// The screenshots in docs/web.md: the landing view, two pages in a call (stats panel open, a chat,
// a file sent), and the call at phone width. Headless Chromium with fake camera and microphone
// against a `serve` started in this process. Usage: npm run build && node scripts/web-screenshots.mjs
import { Buffer } from 'node:buffer';
import { fileURLToPath, URL } from 'node:url';
import { chromium } from 'playwright-core';
import { ConfigSchema } from '../dist/config/schema.js';
import { startServer } from '../dist/server/index.js';

const out = (name) => fileURLToPath(new URL(`../docs/web/${name}`, import.meta.url));
const ARGS = ['--no-sandbox', '--disable-background-networking', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
const server = await startServer(ConfigSchema.parse({ host: '127.0.0.1', port: 0, logLevel: 'silent' }));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
const state = (page, s) => page.waitForFunction((x) => document.body.dataset.state === x, s, { timeout: 30_000 });
try {
  const landing = await (await browser.newContext({ viewport: { width: 900, height: 640 } })).newPage();
  await landing.goto(`${server.httpUrl}/`);
  await landing.fill('#name', 'alice');
  await landing.fill('#room', 'standup');
  await landing.click('details summary');
  await landing.screenshot({ path: out('landing.png') });

  const url = (name) => `${server.httpUrl}/?room=standup&name=${name}&autojoin=1`;
  const a = await (await browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage();
  await a.goto(url('alice'));
  await state(a, 'waiting');
  const b = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 })).newPage();
  await b.goto(url('bob'));
  await Promise.all([state(a, 'connected'), state(b, 'connected')]);
  await a.fill('form[data-testid=chat] input', 'hi bob, can you see me?');
  await a.press('form[data-testid=chat] input', 'Enter');
  await b.waitForFunction(() => document.querySelector('[data-testid=chat-log]').textContent.includes('can you see me'));
  await b.fill('form[data-testid=chat] input', 'yes, loud and clear');
  await b.press('form[data-testid=chat] input', 'Enter');
  await a.waitForFunction(() => document.querySelector('[data-testid=chat-log]').textContent.includes('loud and clear'));
  await b.click('[data-testid=toggle-audio]');
  await a.waitForFunction(() => document.querySelector('[data-peer-id]').dataset.audio === 'off');
  await a.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.alloc(300_000, 'sigctl ') });
  await a.click('#file-form button');
  await a.waitForSelector('[data-transfer][data-done=ok]');
  await a.click('[data-peer-id] details summary');
  // Two stats samples: the rates need a previous one.
  await a.waitForFunction(() => /kbit/.test(document.querySelector('[data-peer-id] dl')?.textContent ?? ''), undefined, { timeout: 10_000 });
  await a.screenshot({ path: out('call.png'), fullPage: true });
  await b.screenshot({ path: out('phone.png'), fullPage: true });
} finally {
  await browser.close();
  await server.close();
}
