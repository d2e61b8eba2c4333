// Debian's chromium, headless, driven by playwright-core: for the demo's report screenshots, the report
// page's benchmark and its browser tests. A fresh profile each time, no network beyond loopback, no
// background traffic (the flags below), and nothing left behind on close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_BINARY = process.env.CHROMIUM_BINARY ?? '/usr/bin/chromium';

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

export interface HeadlessChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
): Promise<HeadlessChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'canary-judge-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_BINARY,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    // Fixed, so times and numbers on the page do not depend on the machine's settings.
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
