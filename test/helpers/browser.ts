// The real browser for console tests: Debian chromium via playwright-core, and pages that record
// every dialog (dismissed) and script error so a test can assert that none happened.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = join(process.cwd(), 'test-output', 'screenshots');

/** Launches chromium headless (no sandbox, no GPU, no background traffic); screenshots go to SHOTS. */
export function launchBrowser(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** Records a page's dialogs (dismissing them) and uncaught script errors into the given lists. */
export function watchPage(page: Page, dialogs: string[], errors: string[]): Page {
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}
