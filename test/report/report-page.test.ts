// The report page in a real headless browser (Debian's chromium), against a real sidecar judging real OTLP
// traffic on a fake clock: the page asks for the API's token, lists the run, shows its tiles while the run is
// running, turns to fail without a reload when a regression is judged, draws the failing metric's band above
// its tolerance line, shows the API's own numbers, and logs no console error on the way.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshotRunReport } from '../../demo/report-screenshots.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { chromiumAvailable, startBrowser, type TestBrowser } from '../support/browser.js';
import { startJudgingSidecar, T0_MS, type JudgingSidecar } from '../support/judging-sidecar.js';
import { REPORT_ANALYSIS, checkoutPod } from '../support/report-fixture.js';
import { flowStepTraffic, type PodProfile } from '../support/rollout-traffic.js';

const available = chromiumAvailable();
if (!available && process.env.CI) throw new Error('CI must have the Debian package chromium (see .ci/run)');

const TOKEN = 'report-page-token-0123456789';
const ANALYSIS = REPORT_ANALYSIS;
const pod = checkoutPod;
const WINDOW_MS = 30_000;
const auth = { Authorization: `Bearer ${TOKEN}` };

/** The numbers of every metric tile as the page shows them (the raw values behind the formatted text). */
async function tiles(page: Page) {
  return page.$$eval('[data-metric]', (articles) =>
    articles.map((article) => {
      const field = (name: string) => article.querySelector(`[data-field="${name}"]`);
      const chart = article.querySelector('[data-chart]') as unknown as { dataset: Record<string, string> };
      return {
        id: article.getAttribute('data-metric'),
        decision: article.getAttribute('data-decision'),
        estimate: field('estimate')?.getAttribute('data-value'),
        lower: field('lower')?.getAttribute('data-value'),
        upper: field('upper')?.getAttribute('data-value'),
        lowerText: field('lower')?.textContent,
        pWorse: field('p-worse')?.getAttribute('data-value'),
        chart: { ...chart?.dataset },
      };
    }),
  );
}

describe.skipIf(!available)('report page in a headless browser', () => {
  let judging: JudgingSidecar;
  let browser: TestBrowser;
  let page: Page;
  let runId: string;
  let seed = 1;
  let windowStartMs = T0_MS;

  const flow = async (canary: PodProfile, requests: number) => {
    await flowStepTraffic(judging, {
      baseline: pod('v1', 40, 0.01),
      canary,
      requests,
      canaryShare: 0.3,
      window: { startMs: windowStartMs, endMs: windowStartMs + WINDOW_MS },
      seed: (seed += 2 * MIN_ERROR_BLOCKS),
    });
    windowStartMs += WINDOW_MS;
  };
  const api = async (path: string) =>
    (await (await fetch(`${judging.apiUrl}${path}`, { headers: auth })).json()) as Record<string, never>;

  beforeAll(async () => {
    [judging, browser] = await Promise.all([
      startJudgingSidecar({ analyses: [ANALYSIS], apiToken: TOKEN }),
      startBrowser(),
    ]);
    const started = await fetch(`${judging.apiUrl}/api/v1/analyses/checkout/runs/rev-2`, {
      method: 'PUT',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ canaryWeight: 30 }),
    });
    runId = ((await started.json()) as { runId: string }).runId;
    // Fewer canary samples than the minimum: the run keeps running.
    await flow(pod('v2', 40, 0.01), 400);
    page = await browser.page();
  });

  afterAll(async () => {
    await browser?.close();
    await judging?.stop();
  });

  it('asks for the API token (the page is open, its data is not), then lists the analysis and its run', async () => {
    const unauthenticated = await fetch(`${judging.apiUrl}/api/v1/runs/${runId}`);
    expect(unauthenticated.status).toBe(401);
    await page.goto(`${judging.apiUrl}/?refresh=250`);
    await page.getByLabel('API bearer token').fill(TOKEN);
    await page.getByRole('button', { name: 'Show the report' }).click();
    const link = page.locator(`a[data-run="${runId}"]`);
    await link.waitFor();
    expect(await link.textContent()).toBe('rev-2');
    expect(await page.locator('[data-analysis="checkout"] [data-verdict]').first().textContent()).toBe(
      'RUNNING',
    );
  });

  it('shows a running run with a tile per metric, then turns to fail without a reload, band above the tolerance', async () => {
    await page.goto(`${judging.apiUrl}/runs/${runId}?refresh=250`);
    await page.locator('h1 [data-verdict="running"]').waitFor();
    const running = await tiles(page);
    expect(running.map((tile) => tile.id)).toEqual(['latency_p50', 'errors']);
    expect(running.every((tile) => tile.decision === 'running')).toBe(true);
    const rendersBefore = Number(await page.getAttribute('body', 'data-renders'));

    // The canary regresses: twice as slow. The page, polling, turns to fail on its own.
    for (let window = 0; window < 3; window++) {
      await flow(pod('v2', 80, 0.01), 2000);
      if ((await api(`/api/v1/runs/${runId}`)).verdict === 'fail') break;
    }
    await page.locator('h1 [data-verdict="fail"]').waitFor({ timeout: 15_000 });
    expect(Number(await page.getAttribute('body', 'data-renders'))).toBeGreaterThan(rendersBefore);
    const latency = (await tiles(page)).find((tile) => tile.id === 'latency_p50')!;
    expect(latency.decision).toBe('fail');
    // In canvas coordinates (y downwards) the band's low edge sits above the tolerance line...
    expect(Number(latency.chart.bandLowY)).toBeLessThan(Number(latency.chart.toleranceY));
    // ...because the fail test's lower bound, shown in the numbers, is past the tolerance x1.200.
    expect(Number(latency.lower)).toBeGreaterThanOrEqual(1.2);
    expect(Number(latency.chart.points)).toBeGreaterThan(MIN_ERROR_BLOCKS);
    expect(await page.locator('.timeline li[data-verdict="fail"]').count()).toBe(1);
  });

  it('shows the API’s numbers: verdict, reason, samples and every metric’s estimate, bounds and p-value', async () => {
    const document = (await api(`/api/v1/runs/${runId}`)) as unknown as {
      verdict: string;
      reason: string;
      samples: { baseline: number; canary: number };
      metrics: Array<{
        id: string;
        decision: string;
        alwaysValidPValue: number;
        effect: Record<'estimate' | 'lower' | 'upper', number | string>;
      }>;
    };
    expect(await page.locator('#run-reason').textContent()).toBe(document.reason);
    expect(Number(await page.getAttribute('[data-field="samples-canary"]', 'data-value'))).toBe(
      document.samples.canary,
    );
    const numeric = (x: number | string) =>
      typeof x === 'number' ? x : x === 'Infinity' ? Infinity : x === '-Infinity' ? -Infinity : NaN;
    const shown = await tiles(page);
    for (const metric of document.metrics) {
      const tile = shown.find((t) => t.id === metric.id)!;
      expect(tile.decision).toBe(metric.decision);
      for (const bound of ['estimate', 'lower', 'upper'] as const)
        expect(Number(tile[bound]), `${metric.id} ${bound}`).toBe(numeric(metric.effect[bound]));
      expect(Number(tile.pWorse)).toBe(metric.alwaysValidPValue);
    }
    const latency = document.metrics.find((m) => m.id === 'latency_p50')!;
    expect(shown.find((t) => t.id === 'latency_p50')!.lowerText).toBe(
      `x${numeric(latency.effect.lower).toFixed(3)}`,
    );
  });

  it('is usable from the keyboard and labelled for screen readers, with no console error on the way', async () => {
    for (const id of await page.$$eval('progress, input', (elements) => elements.map((e) => e.id)))
      expect(await page.locator(`label[for="${id}"]`).count(), id).toBe(1);
    expect(await page.locator('main h1').count()).toBe(1);
    // Every tile is a labelled region with its chart described in text.
    for (const labelledBy of await page.$$eval('[data-metric]', (articles) =>
      articles.map((a) => a.getAttribute('aria-labelledby')),
    ))
      expect(await page.locator(`[id="${labelledBy}"]`).textContent()).toMatch(/canary/);
    expect(await page.locator('figcaption').count()).toBeGreaterThanOrEqual(3);
    // The first Tab reaches the skip link, which moves focus into the report.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to the report');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('location.hash')).toBe('#main');
    expect(browser.errors).toEqual([]);
  });

  it('keeps every visible text at WCAG AA contrast (4.5:1, 3:1 for large text) against its background', async () => {
    const { checked, failures } = await page.evaluate(() => {
      // The browser's DOM, typed here as far as used (the tests compile without the DOM library).
      interface Box {
        width: number;
        height: number;
      }
      interface El {
        childNodes: ArrayLike<{ nodeType: number; textContent: string | null }>;
        parentElement: El | null;
        getBoundingClientRect(): Box;
      }
      interface Style {
        color: string;
        backgroundColor: string;
        fontSize: string;
        fontWeight: string;
        visibility: string;
        opacity: string;
      }
      const dom = globalThis as unknown as {
        document: { querySelectorAll(selector: string): ArrayLike<El> };
        getComputedStyle(element: El): Style;
      };
      const getComputedStyle = (element: El) => dom.getComputedStyle(element);
      const TEXT_NODE = 3;
      // sRGB relative luminance and contrast ratio, WCAG 2.x definitions.
      const rgba = (text: string) => (text.match(/[\d.]+/g) ?? []).map(Number);
      const luminance = ([r, g, b]: number[]) =>
        [r, g, b]
          .map((c) => c / 255)
          .map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
          .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
      const background = (element: El | null): number[] => {
        for (let e = element; e; e = e.parentElement) {
          const [r, g, b, a = 1] = rgba(getComputedStyle(e).backgroundColor);
          if (a > 0) return [r, g, b];
        }
        return [255, 255, 255];
      };
      const found: string[] = [];
      let count = 0;
      for (const element of Array.from(dom.document.querySelectorAll('body *'))) {
        const text = Array.from(element.childNodes)
          .filter((n) => n.nodeType === TEXT_NODE)
          .map((n) => n.textContent ?? '')
          .join('')
          .trim();
        const box = element.getBoundingClientRect();
        if (!text || box.width === 0 || box.height === 0) continue;
        const style = getComputedStyle(element);
        if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
        count++;
        const fg = luminance(rgba(style.color));
        const bg = luminance(background(element));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) found.push(`${ratio.toFixed(2)} "${text.slice(0, 40)}"`);
      }
      return { checked: count, failures: found };
    });
    // The failed run's whole page: header, reason, every tile's numbers and texts, tables, timeline.
    expect(checked).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });

  it('is what `npm run demo -- --report DIR` saves: the failing run’s page, full length, with no page error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-judge-report-'));
    try {
      const shot = await screenshotRunReport(judging.apiUrl, runId, 'fail', join(dir, 'failing-run.png'), {
        token: TOKEN,
      });
      expect(shot.pageErrors).toEqual([]);
      const png = readFileSync(shot.file);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      // Full page: taller than the 900 px viewport (IHDR height, big-endian at byte 20).
      expect(png.readUInt32BE(20)).toBeGreaterThan(900);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
