// End to end over real sockets: the real OTel JS SDK and OTLP exporters send a two-service shop's
// telemetry to a running sidecar; the flag is evaluated (OpenFeature) in the frontend, the judged server
// spans belong to the checkout backend, and they arrive before, after or interleaved with the flag record.
// The flag records are made by OpenFeature's real OpenTelemetry hooks (@openfeature/open-telemetry-hooks 1.0.0,
// and 0.4.0 for the older span event): see e2e-support.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  exportOnce,
  logExporter,
  metricExporter,
  succeeded,
  traceExporter,
  type ExporterKind,
} from '../support/telemetry.js';
import { metricValue } from '../support/sidecar.js';
import type { DataPoint } from '@opentelemetry/sdk-metrics';
import type { CountObservation } from '../../src/accumulate/observation.js';
import {
  FLAG,
  installShopTelemetry,
  Shop,
  startAttributionSidecar,
  type AttributionSidecar,
  type ShopRequest,
} from './e2e-support.js';
import { checkoutAnalysis } from './fixtures.js';

/** MetricsHook's counter of successful evaluations, split by the variant on each of its points. */
const EVALUATIONS = 'feature_flag.evaluation_success_total';

let harness: AttributionSidecar;
let uninstallShopTelemetry: () => void;
beforeAll(async () => {
  harness = await startAttributionSidecar([
    checkoutAnalysis,
    { ...checkoutAnalysis, id: 'by-user', correlation: { key: 'feature_flag.context.id' } },
    {
      id: 'evaluations',
      match: { service: 'frontend', metric: EVALUATIONS },
      variant: { flag: FLAG },
      baseline: 'off',
      canary: 'on',
    },
  ]);
  uninstallShopTelemetry = await installShopTelemetry(); // after the sidecar: its metric streams start later
});
afterAll(async () => {
  uninstallShopTelemetry();
  await harness.stop();
});
beforeEach(() => {
  harness.sink.batches.length = 0;
  harness.clock.advance(60_000); // a clean slate: every earlier window and key has expired
  harness.pipeline.expire();
});

const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];

async function send(kind: ExporterKind, what: 'traces' | 'logs' | 'metrics', items: unknown): Promise<void> {
  const exporter =
    what === 'traces'
      ? traceExporter(kind, harness.endpoints)
      : what === 'logs'
        ? logExporter(kind, harness.endpoints)
        : metricExporter(kind, harness.endpoints);
  const result = await exportOnce(exporter as never, items as never);
  await exporter.shutdown();
  expect(result.error).toBeUndefined();
  expect(succeeded(result)).toBe(true);
}

/** Observations of the trace-joined analysis, keyed by the checkout span's duration (unique per request). */
function armsByRequest(analysisId = checkoutAnalysis.id): Map<number, string> {
  const runId = harness.runIdOf(analysisId);
  const arms = new Map<number, string>();
  for (const o of harness.sink.all)
    if (o.runId === runId && o.kind === 'span') arms.set(o.durationNanos, o.arm);
  return arms;
}

const expected = (requests: ShopRequest[]) => new Map(requests.map((r) => [r.durationNanos, r.arm]));

describe.each(['grpc', 'http-protobuf', 'http-json'] as const)('over %s', (kind) => {
  const other: ExporterKind = kind === 'grpc' ? 'http-protobuf' : 'grpc';

  it('attributes backend spans that arrive after the frontend log-based flag event', async () => {
    const shop = Shop.create('log');
    const requests = await Promise.all(users.map((u) => shop.request(u)));
    const { frontend, backend, logs } = shop.take();
    await send(other, 'logs', logs);
    await send(other, 'traces', frontend);
    await send(kind, 'traces', backend);
    expect(armsByRequest()).toEqual(expected(requests));
    expect(new Set(requests.map((r) => r.arm))).toEqual(new Set(['baseline', 'canary']));
  });

  it('holds backend spans that arrive before the log-based flag event and releases them in one batch', async () => {
    const shop = Shop.create('log');
    const requests = await Promise.all(users.map((u) => shop.request(u)));
    const { backend, logs } = shop.take();
    await send(kind, 'traces', backend);
    expect(harness.sink.all).toEqual([]);
    expect(harness.pipeline.stats().analyses[0].pendingSpans).toBe(users.length);
    harness.clock.advance(4_000); // the frontend's batch processor exports a few seconds later
    await send(other, 'logs', logs);
    expect(harness.sink.batches).toHaveLength(1);
    expect(armsByRequest()).toEqual(expected(requests));
  });

  it('attributes spans interleaved with span-event flag records across batches and transports', async () => {
    const shop = Shop.create('span_event');
    const requests = await Promise.all(users.map((u) => shop.request(u)));
    const { frontend, backend } = shop.take();
    const ofTrace = (spans: typeof frontend, from: number, to: number) =>
      spans.filter((s) => requests.slice(from, to).some((r) => r.traceId === s.spanContext().traceId));
    await send(kind, 'traces', [...ofTrace(backend, 0, 3), ...ofTrace(frontend, 3, 6)]);
    await send(other, 'traces', ofTrace(frontend, 0, 3));
    await send(kind === 'http-json' ? 'grpc' : 'http-json', 'traces', ofTrace(backend, 3, 6));
    expect(armsByRequest()).toEqual(expected(requests));
  });
});

describe.each(['child_span', 'legacy_span_event'] as const)('flag recorded as %s', (form) => {
  it('attributes backend spans sent before the frontend spans', async () => {
    const shop = Shop.create(form);
    const requests = await Promise.all(users.map((u) => shop.request(u)));
    const { frontend, backend } = shop.take();
    expect(frontend.some((s) => s.name === 'feature_flag.evaluation')).toBe(form === 'child_span');
    await send('grpc', 'traces', backend);
    await send('http-protobuf', 'traces', frontend);
    expect(armsByRequest()).toEqual(expected(requests));
  });
});

describe.each([
  { form: 'span_event', version: '1.0.0', variantAttribute: 'feature_flag.result.variant' },
  { form: 'legacy_span_event', version: '0.4.0', variantAttribute: 'feature_flag.variant' },
] as const)('MetricsHook of @openfeature/open-telemetry-hooks $version', ({ form, variantAttribute }) => {
  it('splits its evaluation counter by the variant on each point, as deltas', async () => {
    const shop = Shop.create(form);
    await Promise.all(users.map((u) => shop.request(u)));
    const first = await shop.takeMetrics();
    // What the package writes on the points (js-sdk-contrib libs/hooks/open-telemetry src/lib/metrics/metrics-hook.ts,
    // bundled in the package's index.cjs.js): the flag key and the variant, under the name of its version.
    const points = first.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === EVALUATIONS)
      .flatMap((metric) => metric.dataPoints as DataPoint<number>[]);
    expect(
      points.map((p) => [p.attributes['feature_flag.key'], p.attributes[variantAttribute], p.value]).sort(),
    ).toEqual([
      [FLAG, 'off', 3],
      [FLAG, 'on', 3],
    ]);
    await send('grpc', 'metrics', first);
    await shop.request('u9');
    await shop.request('u7');
    await send('http-json', 'metrics', await shop.takeMetrics());
    const runId = harness.runIdOf('evaluations');
    const counts = harness.sink.all
      .filter((o): o is CountObservation => o.runId === runId && o.kind === 'count')
      .map((o) => [o.arm, o.requests]);
    expect(counts.slice(0, 2).sort()).toEqual([
      ['baseline', 3],
      ['canary', 3],
    ]);
    expect(counts.slice(2)).toEqual([['canary', 2]]); // the second export's delta: two more evaluations
  });
});

describe('windows, conflicts and other correlation keys', () => {
  it('counts backend spans as unattributed when the flag record comes after the window', async () => {
    const shop = Shop.create('log');
    await Promise.all(users.map((u) => shop.request(u)));
    const { backend, logs } = shop.take();
    const before = await metricValue(harness.apiUrl, 'canary_judge_attribution_spans_total', {
      analysis: checkoutAnalysis.id,
      outcome: 'unattributed',
    });
    await send('grpc', 'traces', backend);
    harness.clock.advance(10_000);
    harness.pipeline.expire();
    await send('http-protobuf', 'logs', logs);
    expect(armsByRequest()).toEqual(new Map());
    const after = await metricValue(harness.apiUrl, 'canary_judge_attribution_spans_total', {
      analysis: checkoutAnalysis.id,
      outcome: 'unattributed',
    });
    expect(after - before).toBe(users.length);
  });

  it('leaves out a trace whose frontend saw both variants and counts the conflict', async () => {
    const shop = Shop.create('span_event');
    const clean = await shop.request('u1');
    await shop.request('u2', { secondUser: 'u3' }); // off, then on, in one trace
    const { frontend, backend } = shop.take();
    const before = await metricValue(harness.apiUrl, 'canary_judge_attribution_conflicts_total', {
      analysis: checkoutAnalysis.id,
    });
    await send('http-json', 'traces', backend);
    await send('grpc', 'traces', frontend);
    expect(armsByRequest()).toEqual(expected([clean]));
    const after = await metricValue(harness.apiUrl, 'canary_judge_attribution_conflicts_total', {
      analysis: checkoutAnalysis.id,
    });
    expect(after - before).toBe(1);
  });

  it('joins a backend span in another trace by feature_flag.context.id', async () => {
    const shop = Shop.create('log');
    const requests = await Promise.all(['u7', 'u8'].map((u) => shop.request(u, { detachedBackend: true })));
    const { backend, logs } = shop.take();
    await send('grpc', 'traces', backend);
    await send('http-json', 'logs', logs);
    expect(armsByRequest('by-user')).toEqual(expected(requests));
    expect(armsByRequest(checkoutAnalysis.id)).toEqual(new Map());
  });

  it('joins by feature_flag.context.id taken from a span-event flag record, which carries it on the event', async () => {
    // SpanEventHook puts the evaluation, context id included, on an event of the active span; the span itself
    // has no feature_flag.context.id, so reading the key from the span taught the key nothing.
    for (const form of ['span_event', 'child_span'] as const) {
      harness.sink.batches.length = 0;
      const shop = Shop.create(form);
      const requests = await Promise.all(['u7', 'u8'].map((u) => shop.request(u, { detachedBackend: true })));
      const { frontend, backend } = shop.take();
      await send('grpc', 'traces', backend);
      await send('http-protobuf', 'traces', frontend);
      expect(armsByRequest('by-user'), form).toEqual(expected(requests));
    }
  });

  it('marks 5xx checkout spans as errors, and the accumulator behind attribution counts them', async () => {
    const runId = harness.runIdOf(checkoutAnalysis.id);
    const received = () => harness.sidecar.accumulator.evidence(runId)!.received().canary;
    const before = received();
    const shop = Shop.create('log');
    await shop.request('u1', { status: 503 });
    const { backend, logs } = shop.take();
    await send('grpc', 'logs', logs);
    await send('http-protobuf', 'traces', backend);
    expect(harness.sink.all.filter((o) => o.runId === runId)).toEqual([
      expect.objectContaining({ kind: 'span', arm: 'canary', isError: true }),
    ]);
    const after = received();
    expect([after.requests - before.requests, after.errors - before.errors]).toEqual([1, 1]);
  });
});
