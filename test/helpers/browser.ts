/**
 * A real browser for the administration UI tests: Debian's chromium driven by playwright-core
 * (no browser download; `npm test` installs the Debian package). One browser per test file; every
 * page records its console errors and uncaught exceptions so a test can assert there were none.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PACKAGE_ROOT } from '../../src/core/version.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of every page (git-ignored). */
export const SCREENSHOT_DIR = join(PACKAGE_ROOT, 'test-output', 'admin-ui');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000 });
}

export interface WatchedPage {
  readonly page: Page;
  /** Console errors and page exceptions so far. */
  readonly errors: string[];
}

export async function openPage(browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Draws a stroke on a canvas: from (x1, y1) to (x2, y2) in the canvas's own CSS pixels, in `steps` moves. */
export async function drawStroke(page: Page, selector: string, from: readonly [number, number], to: readonly [number, number], steps = 12): Promise<void> {
  const canvas = page.locator(selector);
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  await page.mouse.move(box.x + from[0], box.y + from[1]);
  await page.mouse.down();
  for (let i = 1; i <= steps; i++) await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / steps, box.y + from[1] + ((to[1] - from[1]) * i) / steps);
  await page.mouse.up();
}
