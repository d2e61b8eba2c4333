// A real headless browser for the report page's tests: Debian's `chromium` (installed by .ci/run like
// prometheus) with the demo's launch settings (demo/headless-chromium.ts). Every console error and uncaught
// page error is collected, so a test can require none. On a machine without chromium the tests that need it
// are skipped with a message (CI requires it).
import { spawnSync } from 'node:child_process';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_BINARY, launchChromium } from '../../demo/headless-chromium.js';

export function chromiumAvailable(): boolean {
  return spawnSync(CHROMIUM_BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab whose console errors and page errors land in `errors`. */
  page(): Promise<Page>;
  /** Console errors and uncaught exceptions of every tab, as text. */
  errors: string[];
  close(): Promise<void>;
}

export async function startBrowser(viewport = { width: 1280, height: 900 }): Promise<TestBrowser> {
  const chromium = await launchChromium(viewport);
  const errors: string[] = [];
  return {
    context: chromium.context,
    errors,
    async page() {
      const page = await chromium.context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
      return page;
    },
    close: () => chromium.close(),
  };
}
