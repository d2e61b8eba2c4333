// `npm run demo -- --report DIR`: the report page of the demo's run, as a person would open it, in Debian's
// chromium (headless, driven by playwright-core), saved as a full-page PNG once it shows the final verdict.
import type { Verdict } from '../src/judge/verdict.js';
import { launchChromium } from './headless-chromium.js';

export interface ReportScreenshot {
  file: string;
  url: string;
  /** Console errors and uncaught errors of the page while it loaded (none expected). */
  pageErrors: string[];
}

const WAIT_MS = 20_000;
/** Where web/report/api.js keeps the API token in the tab's sessionStorage. */
const TOKEN_STORAGE_KEY = 'canary-judge.apiToken';

export async function screenshotRunReport(
  apiUrl: string,
  runId: string,
  verdict: Verdict,
  file: string,
  options: { token?: string } = {},
): Promise<ReportScreenshot> {
  const chromium = await launchChromium({ width: 1280, height: 900 });
  try {
    // A sidecar with api.authToken: the token where the page keeps it once entered (the tab's storage).
    if (options.token) {
      await chromium.context.addInitScript(
        `sessionStorage.setItem(${JSON.stringify(TOKEN_STORAGE_KEY)}, ${JSON.stringify(options.token)})`,
      );
    }
    const page = await chromium.context.newPage();
    const pageErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => pageErrors.push(`page: ${error.message}`));
    const url = `${apiUrl}/runs/${encodeURIComponent(runId)}`;
    await page.goto(url);
    // The final verdict in the heading and every metric's chart drawn.
    await page.locator(`h1 [data-verdict="${verdict}"]`).waitFor({ timeout: WAIT_MS });
    const tiles = page.locator('[data-metric]');
    await tiles.first().waitFor({ timeout: WAIT_MS });
    await page
      .locator('[data-metric] [data-points]')
      .nth((await tiles.count()) - 1)
      .waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: file, fullPage: true });
    return { file, url, pageErrors };
  } finally {
    await chromium.close();
  }
}
