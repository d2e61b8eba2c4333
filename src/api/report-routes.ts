// The report page (issue 15), served by the API port:
//   GET /, /runs/{runId}                the page (one static HTML shell; the script reads the path)
//   GET /report/assets/{name}           its scripts and styles, and uPlot from node_modules
//   GET /report/auth                    whether the API wants a bearer token (so the page asks before a 401)
//   GET /api/v1/runs/{runId}/series     the run's evidence over time, for the charts (SQLite)
//   GET /api/v1/runs/{runId}/webhooks   the run's webhook deliveries
//   GET /api/v1/runs/{runId}/traces     the slowest and latest failing canary traces, linked when configured
//
// Authentication: the page and its assets are static and hold no data, so they are open like /healthz; every
// number on it comes from /api/v1, which needs the bearer token when api.authToken is set. The page asks for
// the token when the API answers 401 and keeps it in the tab's sessionStorage (sent as an Authorization
// header, never in a URL). So a configured token protects the report's data exactly as it protects the API,
// and nothing is open that was not. The page's own answers carry a Content-Security-Policy that allows only
// this origin's scripts, styles and API (no inline script, no third party), and forbid framing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { JudgeService } from '../judge/judge-service.js';
import { runWebhookDeliveries } from '../publish/webhook-deliveries.js';
import type { Db } from '../store/database.js';
import type { RunSeriesRepository } from '../store/run-series-repository.js';
import { ReportAssets, type StaticAsset } from './report-assets.js';
import { ApiProblem } from './request-body.js';
import { sendJson, type ApiServer } from './server.js';

export interface ReportSources {
  judge: JudgeService;
  /** Whether api.authToken is set. */
  tokenRequired: boolean;
  series: RunSeriesRepository;
  db: Db;
  /** api.traceUrl: a URL with `{traceId}`, or null. */
  traceUrl: string | null;
}

const gzipAsync = promisify(gzip);

const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

function sendAsset(request: IncomingMessage, response: ServerResponse, asset: StaticAsset): void {
  const headers: Record<string, string> = {
    ...PAGE_HEADERS,
    'Content-Type': asset.contentType,
    ETag: asset.etag,
    // Revalidated on every load (a 304 costs one round trip), so an upgraded sidecar never serves stale code.
    'Cache-Control': 'no-cache',
    Vary: 'Accept-Encoding',
  };
  if (request.headers['if-none-match'] === asset.etag) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip : asset.body;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = String(body.length);
  response.writeHead(200, headers);
  response.end(body);
}

/**
 * The series is the page's one large answer (up to 1 000 points per run, about 0.8 MB of JSON): gzipped
 * when the client takes it (about a tenth of that on the wire), on zlib's thread pool, not the event loop.
 */
async function sendJsonGzipped(
  request: IncomingMessage,
  response: ServerResponse,
  body: unknown,
): Promise<void> {
  const text = JSON.stringify(body);
  if (text.length < 1024 || !/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    sendJson(response, 200, body);
    return;
  }
  const compressed = await gzipAsync(text);
  response.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Encoding': 'gzip',
    'Content-Length': compressed.length,
    Vary: 'Accept-Encoding',
  });
  response.end(compressed);
}

function runOrThrow(judge: JudgeService, runId: string) {
  const document = judge.getRun(runId);
  if (!document) throw new ApiProblem(404, 'RUN_NOT_FOUND', `no run "${runId}"`);
  return document;
}

/** The trace UI link of a trace id, or null without a configured api.traceUrl. */
export function traceLink(traceUrl: string | null, traceId: string): string | null {
  if (!traceUrl || !/^[0-9a-f]{32}$/.test(traceId)) return null;
  return traceUrl.split('{traceId}').join(traceId);
}

export function addReportRoutes(api: ApiServer, sources: ReportSources): void {
  const assets = new ReportAssets();
  const page = (): StaticAsset => assets.get('index.html')!;
  const open = { open: true };
  api.route('GET', '/', (request, response) => sendAsset(request, response, page()), open);
  api.route('GET', '/runs/:runId', (request, response) => sendAsset(request, response, page()), open);
  api.route(
    'GET',
    '/report/assets/:name',
    (request, response, { name }) => {
      const asset = name === 'index.html' ? undefined : assets.get(name);
      if (!asset) throw new ApiProblem(404, 'NOT_FOUND', `no report asset "${name}"`);
      sendAsset(request, response, asset);
    },
    open,
  );

  // Says only what a 401 would say; lets the page ask for the token without a failed request first.
  api.route(
    'GET',
    '/report/auth',
    (_request, response) => sendJson(response, 200, { tokenRequired: sources.tokenRequired }),
    open,
  );

  api.route('GET', '/api/v1/runs/:runId/series', async (request, response, { runId }) => {
    runOrThrow(sources.judge, runId);
    await sendJsonGzipped(request, response, { runId, points: sources.series.list(runId) });
  });

  api.route('GET', '/api/v1/runs/:runId/webhooks', (_request, response, { runId }) => {
    const { analysisId } = runOrThrow(sources.judge, runId);
    sendJson(response, 200, { runId, deliveries: runWebhookDeliveries(sources.db, analysisId, runId) });
  });

  api.route('GET', '/api/v1/runs/:runId/traces', (_request, response, { runId }) => {
    runOrThrow(sources.judge, runId);
    const examples = sources.judge.traceExamples(runId) ?? { slowest: [], failing: [] };
    const linked = (list: typeof examples.slowest) =>
      list.map((example) => ({ ...example, url: traceLink(sources.traceUrl, example.traceId) }));
    sendJson(response, 200, {
      runId,
      traceUrlConfigured: sources.traceUrl !== null,
      slowest: linked(examples.slowest),
      failing: linked(examples.failing),
    });
  });
}
