/**
 * The browser call app (docs/web.md) driven in Debian's headless Chromium through playwright-core,
 * with fake camera and microphone, only through the automation contract: `/?room&name&autojoin=1`,
 * body[data-state], tiles [data-peer-id] with data-audio/data-video, the chat form and log, the
 * toggle buttons. One browser per test file; one context per page (its own storage). Every wait
 * is bounded; every request a page makes is recorded.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchHeadless } from './chromium.js';

/** Chromium flags: those of the contract (fake devices, no permission prompt). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/**
 * Launches Chromium. `prompts: true` leaves out --use-fake-ui-for-media-stream: camera and
 * microphone are then only what each context was granted (openApp's `permissions`), the rest denied.
 */
export function launchChromium(options: { prompts?: boolean } = {}): Promise<Browser> {
  const args = options.prompts === true ? CHROMIUM_ARGS.filter((a) => a !== '--use-fake-ui-for-media-stream') : CHROMIUM_ARGS;
  return launchHeadless(args);
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
export async function openApp(browser: Browser, url: string, options: { permissions?: string[] } = {}): Promise<AppPage> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, permissions: options.permissions ?? ['camera', 'microphone'] });
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

/**
 * The DOM as page functions see it: the tests' TypeScript program has no DOM types, and the page's
 * CSP (no 'unsafe-eval') refuses string predicates, so page code is written as functions over this.
 */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  videoWidth?: number;
  currentTime?: number;
}
interface PageDocument {
  body: { dataset: Record<string, string | undefined> };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
type PageWindow = { document: PageDocument };

export async function waitState(page: Page, state: string, ms = 20_000): Promise<void> {
  await page.waitForFunction((s) => (globalThis as unknown as PageWindow).document.body.dataset.state === s, state, { timeout: ms });
}

/** Waits until the element at `selector` contains `text`. */
export async function textShows(page: Page, selector: string, text: string, ms = 10_000): Promise<void> {
  await page.waitForFunction(([sel, t]) => (globalThis as unknown as PageWindow).document.querySelector(sel!)?.textContent?.includes(t!) === true, [selector, text], { timeout: ms, polling: 100 });
}

/** Waits until the (first) remote tile's `attr` is `value`. */
export async function tileBecomes(page: Page, attr: string, value: string, ms = 10_000): Promise<void> {
  await page.waitForFunction(([a, v]) => (globalThis as unknown as PageWindow).document.querySelector('[data-peer-id]')?.getAttribute(a!) === v, [attr, value], { timeout: ms, polling: 100 });
}

/** Waits until there is exactly one remote tile and it is not member `oldId`'s. */
export async function tileReplaced(page: Page, oldId: string | null, ms = 15_000): Promise<void> {
  await page.waitForFunction(
    (old) => {
      const tiles = (globalThis as unknown as PageWindow).document.querySelectorAll('[data-peer-id]');
      return tiles.length === 1 && tiles[0]?.getAttribute('data-peer-id') !== old;
    },
    oldId,
    { timeout: ms, polling: 100 },
  );
}

/** Resolves once one remote tile's <video> shows frames and its currentTime advances. */
export async function remoteVideoPlays(page: Page, ms = 25_000): Promise<void> {
  const time = (): number | false => {
    const v = (globalThis as unknown as PageWindow).document.querySelector('[data-peer-id] video');
    return v !== null && (v.videoWidth ?? 0) > 0 && (v.currentTime ?? 0) > 0 ? v.currentTime! : false;
  };
  const t0 = Number(await (await page.waitForFunction(time, undefined, { timeout: ms, polling: 100 })).jsonValue());
  await page.waitForFunction(
    (t) => ((globalThis as unknown as PageWindow).document.querySelector('[data-peer-id] video')?.currentTime ?? 0) > t + 0.2,
    t0,
    { timeout: 10_000, polling: 100 },
  );
}

/** Sends a chat line through the contract's form. */
export async function sendChat(page: Page, text: string): Promise<void> {
  await page.fill('form[data-testid=chat] input', text);
  await page.press('form[data-testid=chat] input', 'Enter');
}

/** Waits until the chat log contains `text`. */
export async function chatShows(page: Page, text: string, ms = 10_000): Promise<void> {
  await textShows(page, '[data-testid=chat-log]', text, ms);
}
