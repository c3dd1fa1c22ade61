/**
 * The browser call app (docs/web.md) driven in Debian's headless Chromium through playwright-core,
 * with fake camera and microphone, only through the automation contract: `/?room&name&autojoin=1`,
 * body[data-state], tiles [data-peer-id] with data-audio/data-video, the chat form and log, the
 * toggle buttons. One browser per test file; one context per page (its own storage). Every wait
 * is bounded; every request a page makes is recorded.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Chromium flags: those of the contract (fake devices, no permission prompt). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, timeout: 20_000, args: CHROMIUM_ARGS });
}

/** One page of the app in its own context. */
export interface AppPage {
  page: Page;
  context: BrowserContext;
  /** Every URL the page requested. */
  requests: string[];
  close(): Promise<void>;
}

/** Opens `url` (the app) in a fresh context. */
export async function openApp(browser: Browser, url: string): Promise<AppPage> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  await page.goto(url, { timeout: 15_000 });
  return { page, context, requests, close: () => context.close().catch(() => undefined) };
}

/** The app's URL joining `room` as `name` at once. */
export function appUrl(base: string, room: string, name: string, extra = ''): string {
  return `${base}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}&autojoin=1${extra}`;
}

export async function waitState(page: Page, state: string, ms = 20_000): Promise<void> {
  await page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout: ms });
}

/** Resolves once one remote tile's <video> shows frames and its currentTime advances. */
export async function remoteVideoPlays(page: Page, ms = 25_000): Promise<void> {
  const handle = await page.waitForFunction(
    () => {
      const v = document.querySelector<HTMLVideoElement>('[data-peer-id] video');
      return v !== null && v.videoWidth > 0 && v.currentTime > 0 ? v.currentTime : false;
    },
    undefined,
    { timeout: ms, polling: 100 },
  );
  const t0 = (await handle.jsonValue()) as number;
  await page.waitForFunction((t) => (document.querySelector<HTMLVideoElement>('[data-peer-id] video')?.currentTime ?? 0) > t + 0.2, t0, { timeout: 10_000, polling: 100 });
}

/** Sends a chat line through the contract's form. */
export async function sendChat(page: Page, text: string): Promise<void> {
  await page.fill('form[data-testid=chat] input', text);
  await page.press('form[data-testid=chat] input', 'Enter');
}

/** Waits until the chat log contains `text`. */
export async function chatShows(page: Page, text: string, ms = 10_000): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('[data-testid=chat-log]')?.textContent?.includes(t) === true, text, { timeout: ms });
}

/** The member id this page's tile has on `other` (the only remote tile there). */
export async function tileAttr(page: Page, attr: string): Promise<string | null> {
  return page.evaluate((a) => document.querySelector('[data-peer-id]')?.getAttribute(a) ?? null, attr);
}
