// Metrics-only judging of the Collector's spanmetrics output (test/support/span-metrics-connector.ts transcribes
// the connector): a canary whose server spans end with status ERROR 30% of the time (HTTP 200, so only
// `status.code` tells) fails on its error rate, requests are counted once (calls, not calls + duration), client
// spans are kept out by `match.spanKind` through the `span.kind` point attribute, latency comes from the ms
// histogram, and the verdict points at the canary's failing traces through the points' exemplars.
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { windowSpans } from '../support/clocked-spans.js';
import { startJudgingSidecar, T0_MS, type JudgingSidecar } from '../support/judging-sidecar.js';
import {
  CALLS_METRIC,
  DURATION_METRIC,
  SpanMetricsConnector,
  postMetrics,
} from '../support/span-metrics-connector.js';

const TOKEN = 'span-metrics-test-token-0123';
const TICK_MS = 5_000;
const TICKS = MIN_ERROR_BLOCKS + 4;

const analysis = {
  id: 'checkout-spanmetrics',
  match: {
    service: 'checkout',
    metric: DURATION_METRIC,
    requestsMetric: CALLS_METRIC,
    spanKind: 'server',
  },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
  metrics: [
    { name: 'errors', kind: 'error_rate', tolerance: 0.02 },
    { name: 'latency', kind: 'latency', tolerance: 0.2, quantiles: [0.5] },
  ],
  judge: { canaryShare: 0.2, minSamplesPerArm: 200 },
};

let judge: JudgingSidecar;
let document: VerdictDocument;
const canaryErrorTraces = new Set<string>();
let serverSpans = { baseline: 0, canary: 0 };

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${judge.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
}

beforeAll(async () => {
  judge = await startJudgingSidecar({ analyses: [analysis], apiToken: TOKEN });
  const started = await api(`/api/v1/analyses/${analysis.id}/runs/r1`, {
    method: 'PUT',
    body: JSON.stringify({ canaryShare: 0.2 }),
  });
  expect(started.status).toBe(201);
  const connector = new SpanMetricsConnector(['http.response.status_code']);
  const httpUrl = `http://127.0.0.1:${judge.sidecar.ports.http}`;
  for (let tick = 0; tick < TICKS; tick += 1) {
    const startMs = T0_MS + tick * TICK_MS;
    const window = { startMs, windowMs: TICK_MS - 1_000, medianMs: 40 };
    const spans: ReadableSpan[] = [
      ...windowSpans({
        ...window,
        version: '1.0.0',
        count: 800,
        errorRate: 0.01,
        errorHttpStatus: 503,
        seed: 2 * tick + 1,
      }),
      ...windowSpans({
        ...window,
        version: '2.0.0',
        count: 200,
        errorRate: 0.3,
        errorHttpStatus: 200,
        seed: 2 * tick + 2,
      }),
      // Client spans of both versions: spanmetrics counts them too, the analysis must not.
      ...windowSpans({
        ...window,
        version: '1.0.0',
        count: 300,
        errorRate: 0.5,
        seed: 1000 + tick,
        kind: SpanKind.CLIENT,
      }),
      ...windowSpans({
        ...window,
        version: '2.0.0',
        count: 300,
        errorRate: 0.5,
        seed: 2000 + tick,
        kind: SpanKind.CLIENT,
      }),
    ];
    for (const span of spans) {
      if (span.kind !== SpanKind.SERVER) continue;
      const version = span.resource.attributes['service.version'];
      serverSpans = {
        baseline: serverSpans.baseline + (version === '1.0.0' ? 1 : 0),
        canary: serverSpans.canary + (version === '2.0.0' ? 1 : 0),
      };
      if (version === '2.0.0' && span.status.code === 2) canaryErrorTraces.add(span.spanContext().traceId);
    }
    connector.consume(spans, BigInt(startMs) * 1_000_000n);
    judge.advanceTo(startMs + TICK_MS);
    expect(await postMetrics(httpUrl, connector.flush(BigInt(startMs + TICK_MS) * 1_000_000n))).toBe(200);
    // The judge ticks a second after the flush: the flush's points are below the watermark then.
    judge.advanceTo(startMs + TICK_MS + 1_000);
    judge.tick();
    document = (await (await api(`/api/v1/analyses/${analysis.id}/runs/r1`)).json()) as VerdictDocument;
    if (document.verdict !== 'running') break;
  }
});
afterAll(async () => judge?.stop());

describe('a metrics-only analysis of spanmetrics output', () => {
  it('fails the canary whose spans end in STATUS_CODE_ERROR 30% of the time', () => {
    expect(document.verdict).toBe('fail');
    expect(document.action).toBe('rollback');
    const errors = document.metrics.find((metric) => metric.id === 'errors');
    expect(errors?.decision).toBe('fail');
    expect(document.reason).toMatch(/^errors: canary 30\.\d+% vs baseline 1\.\d+%/);
  });

  it('counts each server span once, from calls, and no client span', () => {
    const judged = document.stages.reduce(
      (sum, stage) => ({
        baseline: sum.baseline + stage.samples.baseline,
        canary: sum.canary + stage.samples.canary,
      }),
      { baseline: 0, canary: 0 },
    );
    expect(judged).toEqual(serverSpans);
    expect(document.arms?.canary.errorRate).toBeGreaterThan(0.25);
    expect(document.arms?.canary.errorRate).toBeLessThan(0.35);
    // The baseline's errors are 503s (the http.response.status_code dimension), its status ERROR too.
    expect(document.arms?.baseline.errorRate).toBeGreaterThan(0.003);
    expect(document.arms?.baseline.errorRate).toBeLessThan(0.02);
  });

  it('reads latency from the ms duration histogram, in nanoseconds', () => {
    const p50 = document.arms?.baseline.quantiles.find((q) => q.quantile === 0.5);
    // Lognormal with a 40 ms median, in the default buckets' (10, 50] ms bucket.
    expect(p50?.estimateNanos).toBeGreaterThan(10e6);
    expect(p50?.estimateNanos).toBeLessThanOrEqual(50e6);
  });

  it('points at failing canary traces through the exemplars of its error points', () => {
    const errorTraces = document.exemplars?.canary.errors ?? [];
    expect(errorTraces.length).toBeGreaterThan(0);
    for (const traceId of errorTraces) expect(canaryErrorTraces).toContain(traceId);
  });
});
