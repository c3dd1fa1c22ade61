/**
 * The one Chromium launcher of the tests: Debian's chromium (found on PATH; suites declare
 * requires('chromium')) headless through playwright-core, and a page served from 127.0.0.1 for
 * the WebRTC tests. Bounded: the launch and the page load have timeouts.
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { mustFind } from './requires.js';

/** Flags for a page that makes peer connections on loopback. */
export const WEBRTC_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--allow-loopback-in-peer-connection'];

/** Launches headless Chromium with `args`. */
export function launchHeadless(args: readonly string[]): Promise<Browser> {
  return chromium.launch({ executablePath: mustFind('chromium'), headless: true, timeout: 20_000, args: [...args] });
}

/** A browser showing one page served by the test. */
export interface ServedPage {
  browser: Browser;
  page: Page;
  /** http://127.0.0.1:port of the page's server. */
  origin: string;
  /** Closes the browser and the page's server. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `handler` on 127.0.0.1 and opens its root in a fresh browser (WEBRTC_ARGS) whose context
 * was granted camera and microphone: Chromium then offers host candidates instead of mDNS names.
 */
export async function openServedPage(handler: RequestListener): Promise<ServedPage> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await browser?.close().catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    browser = await launchHeadless(WEBRTC_ARGS);
    const context = await browser.newContext();
    await context.grantPermissions(['camera', 'microphone'], { origin });
    const page = await context.newPage();
    await page.goto(origin, { timeout: 10_000 });
    return { browser, page, origin, close };
  } catch (error) {
    await close();
    throw error;
  }
}
