// The real OpenTelemetry JS exporters (gRPC, HTTP/JSON, HTTP/protobuf, each plain and gzip) send known
// spans, metric points and log records; the sidecar must decode exactly those and count them.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hrTimeToNanoseconds } from '@opentelemetry/core';
import { SpanKind, StatusCode } from '../../src/otlp/model.js';
import { metricValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import {
  EXPORTER_KINDS,
  exportOnce,
  knownLogRecords,
  knownMetrics,
  knownSpans,
  logExporter,
  metricExporter,
  succeeded,
  traceExporter,
} from '../support/telemetry.js';

let harness: TestSidecar;
beforeAll(async () => {
  harness = await startTestSidecar();
});
afterAll(async () => harness.stop());
beforeEach(() => harness.sink.clear());

const transportOf = (kind: string) => (kind === 'grpc' ? 'grpc' : 'http');

describe.each(
  EXPORTER_KINDS.flatMap((kind) => [
    { kind, gzip: false },
    { kind, gzip: true },
  ]),
)('exporter $kind (gzip: $gzip)', ({ kind, gzip }) => {
  const endpoints = () => ({ grpcUrl: harness.grpcUrl, httpUrl: harness.httpUrl, gzip });

  it('delivers every span with ids, timing, kind, status, attributes and events intact', async () => {
    const sent = knownSpans();
    const exporter = traceExporter(kind, endpoints());
    const before = await metricValue(harness.apiUrl, 'canary_judge_otlp_items_received_total', {
      signal: 'traces',
      transport: transportOf(kind),
    });
    const result = await exportOnce(exporter, sent);
    await exporter.shutdown();
    expect(result.error).toBeUndefined();
    expect(succeeded(result)).toBe(true);

    const received = harness.sink.spans;
    expect(received).toHaveLength(sent.length);
    for (const original of sent) {
      const span = received.find((candidate) => candidate.spanId === original.spanContext().spanId);
      expect(span, original.name).toBeDefined();
      expect(span!.traceId).toBe(original.spanContext().traceId);
      expect(span!.parentSpanId).toBe(original.parentSpanContext?.spanId ?? '');
      expect(span!.name).toBe(original.name);
      expect(span!.durationNanos).toBe(original.duration[0] * 1e9 + original.duration[1]);
      expect(span!.startTimeUnixMs).toBeCloseTo(hrTimeToNanoseconds(original.startTime) / 1e6, 3);
      expect(span!.resource.serviceName).toBe(original.resource.attributes['service.name']);
      expect(span!.scopeName).toBe('test-scope');
    }
    const root = received.find((span) => span.name === 'GET /cart')!;
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(root.parentSpanId).toBe('');
    expect(root.durationNanos).toBe(3_000_000_003);
    expect(root.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'sample.ratio': 0.25,
      cached: true,
      tags: ['a', 'b'],
    });
    expect(root.events).toEqual([
      expect.objectContaining({
        name: 'feature_flag.evaluation',
        attributes: { 'feature_flag.key': 'new-checkout-flow', 'feature_flag.result.variant': 'on' },
      }),
    ]);
    const backend = received.find((span) => span.name === 'POST /checkout')!;
    expect(backend.durationNanos).toBe(1_234_567);
    expect(backend.statusCode).toBe(StatusCode.ERROR);
    expect(backend.statusMessage).toBe('payment backend down');
    expect(backend.resource.attributes).toMatchObject({
      'service.version': '2.1.0',
      'k8s.pod.label.role': 'canary',
    });
    expect(received.find((span) => span.kind === SpanKind.CLIENT)!.durationNanos).toBe(2_000_001);

    const after = await metricValue(harness.apiUrl, 'canary_judge_otlp_items_received_total', {
      signal: 'traces',
      transport: transportOf(kind),
    });
    expect(after - before).toBe(sent.length);
  });

  it('delivers counter, explicit-bucket and exponential histogram points', async () => {
    const exporter = metricExporter(kind, endpoints());
    const result = await exportOnce(exporter, await knownMetrics());
    await exporter.shutdown();
    expect(succeeded(result)).toBe(true);

    const points = harness.sink.points;
    const sums = points.filter((point) => point.metricName === 'http.server.requests');
    expect(sums.map((point) => [point.attributes.variant, point.value]).sort()).toEqual([
      ['off', 7],
      ['on', 5],
    ]);
    expect(sums.every((point) => point.type === 'sum' && point.isMonotonic && point.temporality === 2)).toBe(
      true,
    );

    const histogram = points.find((point) => point.metricName === 'http.server.request.duration')!;
    expect(histogram.type).toBe('histogram');
    expect(histogram.unit).toBe('s');
    expect(histogram.explicit).toEqual({ bounds: [0.01, 0.1, 1], bucketCounts: [1, 2, 1, 1] });
    expect(histogram.count).toBe(5);
    expect(histogram.sum).toBeCloseTo(5.605, 9);
    expect(histogram.min).toBe(0.005);
    expect(histogram.max).toBe(5);
    expect(histogram.resource.serviceName).toBe('checkout');

    const exponential = points.find((point) => point.metricName === 'checkout.duration.exp')!;
    expect(exponential.type).toBe('exponential_histogram');
    expect(exponential.count).toBe(5);
    const e = exponential.exponential!;
    const total = e.zeroCount + e.positive.bucketCounts.reduce((sum, count) => sum + count, 0);
    expect(total).toBe(5);
    // Each recorded value must fall in the bucket the OTLP mapping gives it: index = ceil(log2(v) * 2^scale) - 1.
    for (const value of [1, 2, 4, 8, 100]) {
      const index = Math.ceil(Math.log2(value) * 2 ** e.scale) - 1 - e.positive.offset;
      expect(e.positive.bucketCounts[index], `bucket of ${value}`).toBeGreaterThanOrEqual(1);
    }
  });

  it('keeps flag-evaluation log events with their trace context and counts the other records', async () => {
    const { records, traceId, spanId } = knownLogRecords();
    const exporter = logExporter(kind, endpoints());
    const ignoredBefore = await metricValue(harness.apiUrl, 'canary_judge_otlp_log_records_ignored_total', {
      transport: transportOf(kind),
    });
    const result = await exportOnce(exporter, records);
    await exporter.shutdown();
    expect(succeeded(result)).toBe(true);

    expect(harness.sink.flagEvaluations).toEqual([
      expect.objectContaining({
        eventName: 'feature_flag.evaluation',
        traceId,
        spanId,
        attributes: expect.objectContaining({
          'feature_flag.key': 'new-checkout-flow',
          'feature_flag.result.variant': 'on',
        }),
      }),
    ]);
    expect(harness.sink.flagEvaluations[0].resource.serviceName).toBe('frontend');
    const ignoredAfter = await metricValue(harness.apiUrl, 'canary_judge_otlp_log_records_ignored_total', {
      transport: transportOf(kind),
    });
    expect(ignoredAfter - ignoredBefore).toBe(1);
  });
});
