// The report page's routes over HTTP, without a browser (the page itself is tested in test/report/): the page
// and its assets are open, carry their security headers, are served gzipped and revalidated by ETag, and never
// reach the file system by path; the run's series, webhook deliveries and trace examples need the API's token,
// agree with the run's document, link traces with api.traceUrl, and the series survives a restart.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { REPORT_ANALYSIS, checkoutPod } from '../support/report-fixture.js';
import { flowStepTraffic } from '../support/rollout-traffic.js';

const TOKEN = 'report-routes-token-0123456789';
const TRACE_URL = 'http://jaeger.example:16686/trace/{traceId}';
const T0_MS = Date.parse('2026-12-01T10:00:00Z');
const ANALYSIS = REPORT_ANALYSIS;
const pod = checkoutPod;
const auth = { Authorization: `Bearer ${TOKEN}` };

/** A raw GET (fetch would decompress and hide Content-Encoding). */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('report routes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-report-routes-'));
  let nowMs = T0_MS;
  let sidecar: Sidecar;
  let apiUrl: string;
  let runId: string;

  const start = async () => {
    sidecar = await startSidecar(
      parseConfig({
        otlp: { grpc: { port: 0 }, http: { port: 0 } },
        api: { port: 0, authToken: TOKEN, traceUrl: TRACE_URL },
        storage: { path: join(dir, 'state.sqlite') },
        judge: { tickIntervalMs: 86_400_000, snapshotIntervalMs: 86_400_000, watermark: { maxHoldMs: 0 } },
        log: { level: 'silent' },
        analyses: [ANALYSIS],
      }),
      { logger: createLogger('silent'), clock: () => nowMs },
    );
    apiUrl = `http://127.0.0.1:${sidecar.ports.api}`;
  };

  beforeAll(async () => {
    await start();
    const started = await fetch(`${apiUrl}/api/v1/analyses/checkout/runs/rev-2`, {
      method: 'PUT',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ canaryWeight: 30 }),
    });
    runId = ((await started.json()) as { runId: string }).runId;
    await flowStepTraffic(
      {
        grpcUrl: `http://127.0.0.1:${sidecar.ports.grpc}`,
        advanceTo: (ms) => (nowMs = Math.max(nowMs, ms)),
        tick: () => sidecar.judge.tick(),
      },
      {
        baseline: pod('v1', 40, 0.02),
        canary: pod('v2', 60, 0.05),
        requests: 1500,
        canaryShare: 0.3,
        window: { startMs: T0_MS, endMs: T0_MS + 30_000 },
        seed: 7,
      },
    );
  });

  afterAll(async () => {
    await sidecar?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page open, with its security headers, on / and /runs/{id}', async () => {
    for (const path of ['/', `/runs/${runId}`]) {
      const page = await get(`${apiUrl}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.body.toString()).toContain('/report/assets/report.js');
    }
    const authNeeded = await get(`${apiUrl}/report/auth`);
    expect(JSON.parse(authNeeded.body.toString())).toEqual({ tokenRequired: true });
  });

  it('serves uPlot from node_modules, gzipped when asked and revalidated by ETag, and nothing by path', async () => {
    const url = `${apiUrl}/report/assets/uPlot.iife.min.js`;
    const gzipped = await get(url, { 'Accept-Encoding': 'gzip' });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    const file = readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
    expect(gunzipSync(gzipped.body).equals(file)).toBe(true);
    const plain = await get(url);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(file)).toBe(true);
    const etag = String(plain.headers.etag);
    expect((await get(url, { 'If-None-Match': etag })).status).toBe(304);
    for (const name of ['index.html', '..%2F..%2Fpackage.json', 'nope.js'])
      expect((await get(`${apiUrl}/report/assets/${name}`)).status, name).toBe(404);
  });

  it('needs the token for the run’s data and names an unknown run', async () => {
    for (const part of ['series', 'webhooks', 'traces'])
      expect((await get(`${apiUrl}/api/v1/runs/${runId}/${part}`)).status, part).toBe(401);
    const unknown = await get(`${apiUrl}/api/v1/runs/no-such-run/series`, auth);
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).toContain('RUN_NOT_FOUND');
  });

  it('gives the series the document agrees with, gzipped when asked, and the same after a restart', async () => {
    const document = (await (await fetch(`${apiUrl}/api/v1/runs/${runId}`, { headers: auth })).json()) as {
      metrics: Array<{ id: string; effect: { estimate: number } }>;
    };
    const raw = await get(`${apiUrl}/api/v1/runs/${runId}/series`, { ...auth, 'Accept-Encoding': 'gzip' });
    expect(raw.headers['content-encoding']).toBe('gzip');
    const series = JSON.parse(gunzipSync(raw.body).toString()) as {
      points: Array<{ atMs: number; metrics: Array<{ id: string; estimate: number }> }>;
    };
    expect(series.points.length).toBeGreaterThanOrEqual(2);
    expect(series.points.length).toBeLessThanOrEqual(MIN_ERROR_BLOCKS);
    const last = series.points[series.points.length - 1];
    expect(last.metrics.map((m) => m.id)).toEqual(document.metrics.map((m) => m.id));
    for (const metric of document.metrics)
      expect(last.metrics.find((m) => m.id === metric.id)?.estimate).toBe(metric.effect.estimate);

    await sidecar.stop();
    await start();
    const after = (await (
      await fetch(`${apiUrl}/api/v1/runs/${runId}/series`, { headers: auth })
    ).json()) as typeof series;
    expect(after.points).toEqual(series.points);
  });

  it('links the slowest and failing canary traces with api.traceUrl (kept across the restart above); no webhook, no deliveries', async () => {
    const traces = (await (
      await fetch(`${apiUrl}/api/v1/runs/${runId}/traces`, { headers: auth })
    ).json()) as {
      traceUrlConfigured: boolean;
      slowest: Array<{ traceId: string; durationNanos: number; url: string }>;
      failing: Array<{ traceId: string; url: string }>;
    };
    expect(traces.traceUrlConfigured).toBe(true);
    expect(traces.slowest.length).toBe(10);
    expect(traces.failing.length).toBeGreaterThan(0);
    for (const example of [...traces.slowest, ...traces.failing]) {
      expect(example.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(example.url).toBe(`http://jaeger.example:16686/trace/${example.traceId}`);
    }
    const durations = traces.slowest.map((e) => e.durationNanos);
    expect(durations).toEqual([...durations].sort((a, b) => b - a));
    // Canary latencies are lognormal around 60 ms: the ten slowest of 450 are well above the median.
    expect(durations[9]).toBeGreaterThan(60e6);
    const webhooks = (await (
      await fetch(`${apiUrl}/api/v1/runs/${runId}/webhooks`, { headers: auth })
    ).json()) as { deliveries: unknown[] };
    expect(webhooks.deliveries).toEqual([]);
  });
});
