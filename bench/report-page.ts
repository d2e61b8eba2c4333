// Report page benchmark (`npm run bench -- report-page`): what the page weighs and how soon it shows its
// data, in Debian's chromium (headless, playwright-core), served by a real sidecar that judged real OTLP
// traffic (OTLP/HTTP JSON, on a fake clock ticked here). Baseline, measured in the same run and the same
// browser: an empty page (one HTML file and one script that sets the same mark) served by a plain Node
// HTTP server on loopback, so the ratios say what the report costs beyond loading any page at all.
//
// First render: navigation start to the page's `report:first-render` mark (web/report/report.js sets it
// after its first render with data: every API answer in, the DOM and the uPlot charts built). Cold: the
// browser cache disabled (a first visit); warm: a reload with the cache (the assets revalidated, 304).
// Weight: the Resource Timing sizes of everything the page loaded until that mark (transfer includes headers;
// encoded is the body as sent, gzip where the server compresses; decoded is the body's size).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import type { Page } from 'playwright-core';
import { launchChromium } from '../demo/headless-chromium.js';
import { parseConfig } from '../src/config/load.js';
import { startSidecar, type Sidecar } from '../src/sidecar.js';
import { createLogger } from '../src/telemetry/logger.js';
import { seededRandom } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const LOADS = Number(process.env.BENCH_REPORT_LOADS ?? 15);
/** Ticks of the long run: 1 000 points, the most a run keeps (store/run-series-repository.ts). */
const LONG_TICKS = Number(process.env.BENCH_REPORT_LONG_TICKS ?? 1000);
const SHORT_MAX_TICKS = 200;
const TICK_MS = 5_000;
const REQUESTS_PER_TICK = 200;
const T0_MS = Date.parse('2026-12-01T10:00:00Z');

const metrics = [
  { name: 'latency', kind: 'latency', tolerance: 0.2, quantiles: [0.5, 0.95] },
  { name: 'errors', kind: 'error_rate', tolerance: 0.02 },
];
const analysis = (id: string, service: string, minSamplesPerArm: number) => ({
  id,
  match: { service, spanKind: 'server' },
  variant: { attribute: 'service.version' },
  baseline: 'v1',
  canary: 'v2',
  metrics,
  judge: { minSamplesPerArm, maxDurationSeconds: 30 * 86_400 },
});

interface Arm {
  version: string;
  medianMs: number;
  errorRate: number;
}

/** One tick's spans of one service as an OTLP/HTTP JSON export request, 30% of them from the canary. */
function exportRequest(service: string, arms: [Arm, Arm], fromMs: number, random: () => number): object {
  const hex = (digits: number) =>
    Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');
  const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return {
    resourceSpans: arms.map((arm, index) => {
      const count = Math.round(REQUESTS_PER_TICK * (index === 0 ? 0.7 : 0.3));
      return {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: service } },
            { key: 'service.version', value: { stringValue: arm.version } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'bench-report-page' },
            spans: Array.from({ length: count }, (_, i) => {
              const startMs = fromMs + (i * TICK_MS) / count;
              const failed = random() < arm.errorRate;
              return {
                traceId: hex(32),
                spanId: hex(16),
                name: 'POST /checkout',
                kind: 2,
                startTimeUnixNano: nanos(startMs),
                endTimeUnixNano: nanos(startMs + arm.medianMs * Math.exp(0.3 * normal())),
                status: { code: failed ? 2 : 0 },
              };
            }),
          },
        ],
      };
    }),
  };
}

interface JudgedRuns {
  sidecar: Sidecar;
  apiUrl: string;
  shortRun: { id: string; ticks: number; verdict: string };
  longRun: { id: string; ticks: number; verdict: string };
  stop(): Promise<void>;
}

/** A sidecar with two runs: one that fails within a few minutes (simulated), one running for LONG_TICKS ticks. */
async function judgedRuns(): Promise<JudgedRuns> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-report-'));
  let nowMs = T0_MS;
  const sidecar = await startSidecar(
    parseConfig({
      otlp: { grpc: { port: 0 }, http: { port: 0 } },
      api: { port: 0 },
      storage: { path: join(dir, 'state.sqlite') },
      judge: { tickIntervalMs: 86_400_000, snapshotIntervalMs: 86_400_000, watermark: { maxHoldMs: 0 } },
      log: { level: 'silent' },
      // The long run never reaches its minimum: it keeps running, and recording, for every tick.
      analyses: [analysis('checkout', 'checkout', 500), analysis('search', 'search', 1e9)],
    }),
    { logger: createLogger('silent'), clock: () => nowMs },
  );
  const apiUrl = `http://127.0.0.1:${sidecar.ports.api}`;
  const startRun = async (analysisId: string) => {
    const response = await fetch(`${apiUrl}/api/v1/analyses/${analysisId}/runs/rev-2`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ canaryWeight: 30 }),
    });
    return ((await response.json()) as { runId: string }).runId;
  };
  const verdict = async (runId: string) =>
    ((await (await fetch(`${apiUrl}/api/v1/runs/${runId}`)).json()) as { verdict: string }).verdict;
  const [shortId, longId] = [await startRun('checkout'), await startRun('search')];
  const random = seededRandom(15);
  const baseline = { version: 'v1', medianMs: 40, errorRate: 0.01 };
  let shortTicks = 0;
  let shortDone = false;
  for (let tick = 0; tick < LONG_TICKS; tick++) {
    const fromMs = nowMs;
    nowMs += TICK_MS;
    const batches = [
      exportRequest('search', [baseline, { version: 'v2', medianMs: 41, errorRate: 0.01 }], fromMs, random),
    ];
    // The short run's canary is 40% slower than its baseline (tolerated: 20%): it fails once the evidence
    // is in.
    if (!shortDone)
      batches.push(
        exportRequest(
          'checkout',
          [baseline, { version: 'v2', medianMs: 56, errorRate: 0.01 }],
          fromMs,
          random,
        ),
      );
    for (const batch of batches) {
      const response = await fetch(`http://127.0.0.1:${sidecar.ports.http}/v1/traces`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(batch),
      });
      if (response.status !== 200) throw new Error(`export: ${response.status} ${await response.text()}`);
    }
    sidecar.judge.tick();
    if (!shortDone) {
      shortTicks++;
      shortDone = (await verdict(shortId)) !== 'running' || shortTicks >= SHORT_MAX_TICKS;
    }
  }
  return {
    sidecar,
    apiUrl,
    shortRun: { id: shortId, ticks: shortTicks, verdict: await verdict(shortId) },
    longRun: { id: longId, ticks: LONG_TICKS, verdict: await verdict(longId) },
    async stop() {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The baseline: an empty page whose one script sets the same mark. */
async function emptyPageServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    if (request.url === '/empty.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-cache' });
      response.end("performance.mark('report:first-render');\n");
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
    response.end(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>empty</title>' +
        '<script src="/empty.js" defer></script></head><body></body></html>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

interface Load {
  firstRenderMs: number;
  requests: number;
  transferBytes: number;
  encodedBytes: number;
  decodedBytes: number;
  uplotEncodedBytes: number;
  dataEncodedBytes: number;
}

/** Resource Timing's sizes (the DOM's PerformanceResourceTiming; Node's types lack the size fields). */
type SizedEntry = { name: string; startTime: number } & {
  transferSize: number;
  encodedBodySize: number;
  decodedBodySize: number;
};

/** Runs in the page (passed as a function: the page's CSP forbids evaluating strings). */
function readTimings(): Load {
  const mark = performance.getEntriesByName('report:first-render')[0];
  // The browser's performance (entry types 'navigation' and 'resource'), typed here as Node's is not.
  const browser = performance as unknown as { getEntriesByType(type: string): SizedEntry[] };
  const entries = [...browser.getEntriesByType('navigation'), ...browser.getEntriesByType('resource')].filter(
    (e) => e.startTime <= mark.startTime,
  );
  const sum = (list: SizedEntry[], key: 'transferSize' | 'encodedBodySize' | 'decodedBodySize') =>
    list.reduce((total, e) => total + e[key], 0);
  return {
    firstRenderMs: mark.startTime,
    requests: entries.length,
    transferBytes: sum(entries, 'transferSize'),
    encodedBytes: sum(entries, 'encodedBodySize'),
    decodedBytes: sum(entries, 'decodedBodySize'),
    uplotEncodedBytes: sum(
      entries.filter((e) => e.name.includes('/uPlot.')),
      'encodedBodySize',
    ),
    dataEncodedBytes: sum(
      entries.filter((e) => /\/(api\/v1|report\/auth)/.test(e.name)),
      'encodedBodySize',
    ),
  };
}

const rendered = () => performance.getEntriesByName('report:first-render').length > 0;

async function load(page: Page, url: string, warm: boolean): Promise<Load> {
  // Warm: the same URL loaded once before, with the cache; cold: a first visit, nothing cached.
  if (warm) {
    await page.goto(url);
    await page.waitForFunction(rendered);
  }
  await page.goto(url);
  await page.waitForFunction(rendered);
  return page.evaluate(readTimings);
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

async function main(): Promise<void> {
  const runs = await judgedRuns();
  const empty = await emptyPageServer();
  const chromium = await launchChromium({ width: 1280, height: 900 });
  try {
    const pages: Array<{ name: string; url: string }> = [
      { name: 'empty page (baseline)', url: empty.url },
      { name: 'list of analyses and runs (/)', url: `${runs.apiUrl}/` },
      {
        name: `${runs.shortRun.verdict === 'fail' ? 'failing' : runs.shortRun.verdict} run (/runs/{id}, ${runs.shortRun.ticks} ticks)`,
        url: `${runs.apiUrl}/runs/${runs.shortRun.id}`,
      },
      {
        name: `long running run (/runs/{id}, ${runs.longRun.ticks} ticks)`,
        url: `${runs.apiUrl}/runs/${runs.longRun.id}`,
      },
    ];
    const cold = pages.map(() => [] as Load[]);
    const warm = pages.map(() => [] as Load[]);
    const coldPage = await chromium.context.newPage();
    // Before each cold load the cache is emptied (disabling it still lets chromium revalidate: 304s).
    const cdp = await chromium.context.newCDPSession(coldPage);
    const warmPage = await chromium.context.newPage();
    // Interleaved, so a slower moment of the shared machine falls on every page alike.
    for (let round = 0; round < LOADS; round++) {
      for (const [index, page] of pages.entries()) {
        await cdp.send('Network.clearBrowserCache');
        cold[index].push(await load(coldPage, page.url, false));
        warm[index].push(await load(warmPage, page.url, true));
      }
    }
    const baselineCold = median(cold[0].map((l) => l.firstRenderMs));
    const baselineWarm = median(warm[0].map((l) => l.firstRenderMs));
    const rows: ResultRow[] = pages.map((page, index) => {
      const first = cold[index][0];
      const coldMs = median(cold[index].map((l) => l.firstRenderMs));
      const warmMs = median(warm[index].map((l) => l.firstRenderMs));
      return {
        page: page.name,
        requests: first.requests,
        'transferred KiB (cold)': kib(first.transferBytes),
        'bodies KiB as sent': kib(first.encodedBytes),
        'of which uPlot KiB': kib(first.uplotEncodedBytes),
        'of which data KiB': kib(first.dataEncodedBytes),
        'bodies KiB decoded': kib(first.decodedBytes),
        'first render ms, cold (median)': coldMs.toFixed(1),
        'cold vs empty page': `x${(coldMs / baselineCold).toFixed(1)}`,
        'first render ms, warm (median)': warmMs.toFixed(1),
        'warm vs empty page': `x${(warmMs / baselineWarm).toFixed(1)}`,
      };
    });
    writeResults('report-page', rows, {
      loads: `${LOADS} cold and ${LOADS} warm per page, interleaved; medians`,
      browser: `Debian chromium ${chromium.context.browser()?.version() ?? ''}, headless, 1280x900`,
      shortRun: `${runs.shortRun.ticks} ticks of ${REQUESTS_PER_TICK} requests, verdict ${runs.shortRun.verdict}`,
      longRun: `${runs.longRun.ticks} ticks of ${REQUESTS_PER_TICK} requests, verdict ${runs.longRun.verdict} (a point per tick; 1 000 is the most a run keeps)`,
    });
  } finally {
    await chromium.close();
    empty.server.close();
    await runs.stop();
  }
}

await main();
