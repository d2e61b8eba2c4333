// A real headless browser for the report page's tests: Debian's `chromium` (installed by .ci/run like
// prometheus) driven by playwright-core, with a fresh profile, no network beyond loopback and no background
// traffic. Every console error and uncaught page error is collected, so a test can require none. On a
// machine without chromium the tests that need it are skipped with a message (CI requires it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_BINARY = process.env.CHROMIUM_BINARY ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return spawnSync(CHROMIUM_BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab whose console errors and page errors land in `errors`. */
  page(): Promise<Page>;
  /** Console errors and uncaught exceptions of every tab, as text. */
  errors: string[];
  close(): Promise<void>;
}

export async function startBrowser(viewport = { width: 1280, height: 900 }): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'canary-judge-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_BINARY,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    // Fixed, so time and number formatting on the page do not depend on the machine.
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const errors: string[] = [];
  return {
    context,
    errors,
    async page() {
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
