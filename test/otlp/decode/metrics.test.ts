import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { Writer } from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { METRICS_REQUEST, encodeMessage } from '../../../bench/payloads.js';
import { decodeMetricsRequest, decodeMetricsRequestJson } from '../../../src/otlp/decode/index.js';
import type { DecodedMetricPoint, MetricBatch } from '../../../src/otlp/model.js';
import { AggregationTemporality, RESOURCE_ATTRIBUTES, sdkMetrics } from './sdk-telemetry.js';

function point(batch: MetricBatch, name: string): DecodedMetricPoint {
  const found = batch.points.find((p) => p.metricName === name);
  if (found === undefined) throw new Error(`no point for ${name}`);
  return found;
}

describe.each([
  ['delta', AggregationTemporality.DELTA, 1],
  ['cumulative', AggregationTemporality.CUMULATIVE, 2],
] as const)(
  'decodeMetricsRequest on %s metrics from the OpenTelemetry JS SDK',
  (_label, temporality, wire) => {
    it('decodes every instrument with its type, temporality, monotonicity, unit and value', async () => {
      const collected = await sdkMetrics(temporality);
      const batch = decodeMetricsRequest(ProtobufMetricsSerializer.serializeRequest(collected)!);
      expect(batch.rejected).toBe(0);
      expect(batch.points).toHaveLength(5);
      expect(point(batch, 'http.server.requests')).toMatchObject({
        type: 'sum',
        temporality: wire,
        isMonotonic: true,
        unit: '{request}',
        value: 5,
        attributes: { 'http.route': '/cart' },
        scopeName: 'checkout-metrics',
        resource: { serviceName: 'checkout', attributes: RESOURCE_ATTRIBUTES },
      });
      expect(point(batch, 'queue.depth')).toMatchObject({ type: 'sum', isMonotonic: false, value: -3 });
      expect(point(batch, 'cpu.utilization')).toMatchObject({ type: 'gauge', temporality: 0, value: 0.5 });
      expect(point(batch, 'http.server.requests').timeUnixMs).toBeGreaterThan(1.7e12);
    });

    it('decodes explicit histogram bounds, bucket counts, count, sum, min and max', async () => {
      const batch = decodeMetricsRequest(
        ProtobufMetricsSerializer.serializeRequest(await sdkMetrics(temporality))!,
      );
      expect(point(batch, 'http.server.request.duration')).toMatchObject({
        type: 'histogram',
        temporality: wire,
        count: 5,
        sum: 5.605,
        min: 0.005,
        max: 5,
        explicit: { bounds: [0.01, 0.1, 1], bucketCounts: [1, 2, 1, 1] },
        attributes: { 'service.version': '2.1.0' },
      });
    });

    it('decodes exponential histogram scale, zero count and positive buckets at the right indexes', async () => {
      const batch = decodeMetricsRequest(
        ProtobufMetricsSerializer.serializeRequest(await sdkMetrics(temporality))!,
      );
      const exp = point(batch, 'http.server.request.duration.exp');
      expect(exp).toMatchObject({
        type: 'exponential_histogram',
        temporality: wire,
        count: 4,
        sum: 7,
        min: 0,
        max: 4,
      });
      const { scale, zeroCount, positive, negative } = exp.exponential!;
      expect(zeroCount).toBe(1);
      expect(negative.bucketCounts.reduce((a, b) => a + b, 0)).toBe(0);
      // metrics.proto: value v falls in bucket index ceil(log2(v) * 2^scale) - 1.
      const indexes = [1, 2, 4].map((v) => Math.ceil(Math.log2(v) * 2 ** scale) - 1);
      for (const index of indexes) expect(positive.bucketCounts[index - positive.offset]).toBe(1);
      expect(positive.bucketCounts.reduce((a, b) => a + b, 0)).toBe(3);
    });

    it('decodes the JSON serializer output of the same collection to the same batch', async () => {
      const collected = await sdkMetrics(temporality);
      const fromProto = decodeMetricsRequest(ProtobufMetricsSerializer.serializeRequest(collected)!);
      expect(decodeMetricsRequestJson(JsonMetricsSerializer.serializeRequest(collected)!)).toEqual(fromProto);
    });
  },
);

describe('decodeMetricsRequest on hand-built points', () => {
  const traceId = new Uint8Array(16).fill(0xab);
  const histogramPoint = {
    timeUnixNano: '1700000000000000000',
    count: '3',
    sum: 0.3,
    bucketCounts: ['1', '2'],
    explicitBounds: [0.1],
    exemplars: [{ traceId, spanId: new Uint8Array(8).fill(1), asDouble: 0.05 }, { asDouble: 0.2 }],
  };
  const request = {
    resourceMetrics: [
      {
        scopeMetrics: [
          {
            metrics: [
              { name: 'latency', histogram: { aggregationTemporality: 1, dataPoints: [histogramPoint] } },
              {
                name: 'bad-buckets',
                histogram: { dataPoints: [{ ...histogramPoint, bucketCounts: ['1', '1', '1'] }] },
              },
              {
                name: 'bad-bounds',
                histogram: {
                  dataPoints: [
                    { ...histogramPoint, explicitBounds: [0.5, 0.5], bucketCounts: ['1', '1', '1'] },
                  ],
                },
              },
              { name: 'bad-count', histogram: { dataPoints: [{ ...histogramPoint, count: '4' }] } },
              {
                name: 'bad-scale',
                exponentialHistogram: { dataPoints: [{ scale: 21, count: '0' }] },
              },
              {
                name: 'requests',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [{ asInt: '-9007199254740991', exemplars: [{ traceId, asInt: '1' }] }],
                },
              },
              { name: 'rpc.duration', summary: { dataPoints: [{ count: '10', sum: 2.5 }] } },
            ],
          },
        ],
      },
    ],
  };
  const batch = decodeMetricsRequest(encodeMessage(METRICS_REQUEST, request));

  it("keeps exemplars' trace ids in order and skips exemplars without one", () => {
    expect(point(batch, 'latency').exemplarTraceIds).toEqual(['ab'.repeat(16)]);
    expect(point(batch, 'requests').exemplarTraceIds).toEqual(['ab'.repeat(16)]);
  });

  it('decodes as_int exactly, monotonic cumulative sums and summaries', () => {
    expect(point(batch, 'requests')).toMatchObject({
      value: -9007199254740991,
      temporality: 2,
      isMonotonic: true,
    });
    expect(point(batch, 'rpc.duration')).toMatchObject({ type: 'summary', count: 10, sum: 2.5 });
  });

  it('rejects inconsistent histograms and out-of-range scales with a reason', () => {
    expect(batch.points.map((p) => p.metricName)).toEqual(['latency', 'requests', 'rpc.duration']);
    expect(batch.rejected).toBe(4);
    expect(batch.rejectMessage).toBe(
      '4 data points rejected; first: histogram "bad-buckets": bucket_counts has 3 entries, explicit_bounds 1 (expected bounds + 1)',
    );
  });

  it('agrees with the JSON decoder on the same points', () => {
    const json = JSON.stringify({
      resourceMetrics: request.resourceMetrics.map((rm) => ({
        scopeMetrics: rm.scopeMetrics.map((sm) => ({
          metrics: sm.metrics.map((m) =>
            JSON.parse(
              JSON.stringify(m, (_k, v: unknown) =>
                v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
              ),
            ),
          ),
        })),
      })),
    });
    expect(decodeMetricsRequestJson(json)).toEqual(batch);
  });
});

describe('field order', () => {
  it('applies name, unit, temporality and monotonicity that follow the data points on the wire', () => {
    const point = encodeMessage('opentelemetry.proto.metrics.v1.NumberDataPoint', { asDouble: 2.5 });
    // Sum with is_monotonic (3) and aggregation_temporality (2) after data_points (1).
    const sum = Writer.create().uint32(24).bool(true).uint32(16).int32(1).uint32(10).bytes(point).finish();
    // Metric with sum (7) before name (1) and unit (3).
    const metric = Writer.create()
      .uint32(58)
      .bytes(sum)
      .uint32(10)
      .string('late.name')
      .uint32(26)
      .string('ms')
      .finish();
    const scopeMetrics = Writer.create().uint32(18).bytes(metric).finish();
    const resourceMetrics = Writer.create().uint32(18).bytes(scopeMetrics).finish();
    const request = Writer.create().uint32(10).bytes(resourceMetrics).finish();
    expect(decodeMetricsRequest(request).points).toEqual([
      expect.objectContaining({
        metricName: 'late.name',
        unit: 'ms',
        type: 'sum',
        temporality: 1,
        isMonotonic: true,
        value: 2.5,
      }),
    ]);
  });
});
