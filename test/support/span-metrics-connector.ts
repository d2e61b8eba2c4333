// What the OpenTelemetry Collector's spanmetrics connector emits for a stream of spans, so metrics-only tests send
// exactly the names, units, attributes, temporality and exemplars a real Collector sends. Transcribed from
// opentelemetry-collector-contrib:
// - connector/spanmetricsconnector/connector.go at cca5faa0abec2960884daa30481a6d6694f11c3f: scope name
//   `spanmetricsconnector`; per resource, metrics `<namespace>.calls` then `<namespace>.duration` (unit of the
//   histogram config); point attributes service.name, span.name, span.kind, status.code (traceutil's
//   SPAN_KIND_* / STATUS_CODE_* spellings) then the configured dimensions (span attribute, else resource
//   attribute); duration = (end - start) in the unit; an exemplar (trace id, span id, duration) per span on both
//   metrics when exemplars are enabled, cleared after each flush; start timestamp = when the series was first
//   seen, timestamp = the flush.
// - connector/spanmetricsconnector/config.go at 5c0bb0113e96e2356116024184aab218a446e358:
//   defaultHistogramBucketsMs, cumulative temporality by default; factory.go: DefaultNamespace
//   `traces.span.metrics`, default unit `ms`.
// - connector/spanmetricsconnector/internal/metrics/metrics.go at c87eb2d72377878d31559a21093b0b5ce2a36c56:
//   calls is a monotonic sum of int values; explicit buckets by sort.SearchFloat64s (value in (b[i-1], b[i]]),
//   with count and sum and no min/max.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { encodeMessage, METRICS_REQUEST } from '../../bench/payloads.js';

export const SPAN_METRICS_NAMESPACE = 'traces.span.metrics';
export const CALLS_METRIC = `${SPAN_METRICS_NAMESPACE}.calls`;
export const DURATION_METRIC = `${SPAN_METRICS_NAMESPACE}.duration`;
export const DEFAULT_BUCKETS_MS = [
  2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000,
];

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

type Scalar = string | number | boolean;

interface Series {
  attributes: Record<string, Scalar>;
  startNanos: bigint;
  calls: number;
  bucketCounts: number[];
  count: number;
  sum: number;
  exemplars: Array<{ traceId: string; spanId: string; value: number }>;
}

interface ResourceState {
  attributes: Record<string, Scalar>;
  series: Map<string, Series>;
}

function nanos(time: [number, number]): bigint {
  return BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
}

function searchFloat64s(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && bounds[i] < value) i += 1;
  return i;
}

function anyValue(value: Scalar) {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

function keyValues(attributes: Record<string, Scalar>) {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));
}

/** The connector with `dimensions` (e.g. http.response.status_code) and exemplars enabled, default histogram. */
export class SpanMetricsConnector {
  private readonly resources = new Map<string, ResourceState>();

  constructor(private readonly dimensions: string[] = []) {}

  /** aggregateMetrics: `nowNanos` is the connector's clock when the spans arrive. */
  consume(spans: readonly ReadableSpan[], nowNanos: bigint): void {
    for (const span of spans) {
      const resourceAttributes = span.resource.attributes as Record<string, Scalar>;
      const serviceName = resourceAttributes['service.name'];
      if (typeof serviceName !== 'string') continue;
      const resourceKey = JSON.stringify(resourceAttributes);
      let resource = this.resources.get(resourceKey);
      if (!resource) {
        resource = { attributes: resourceAttributes, series: new Map() };
        this.resources.set(resourceKey, resource);
      }
      const attributes: Record<string, Scalar> = {
        'service.name': serviceName,
        'span.name': span.name,
        'span.kind': SPAN_KINDS[span.kind + 1], // the JS API's INTERNAL is 0, OTLP's 1
        'status.code': STATUS_CODES[span.status.code],
      };
      for (const name of this.dimensions) {
        const value = (span.attributes[name] ?? resourceAttributes[name]) as Scalar | undefined;
        if (value !== undefined) attributes[name] = value;
      }
      const key = Object.values(attributes).join('\u0000');
      let series = resource.series.get(key);
      if (!series) {
        series = {
          attributes,
          startNanos: nowNanos,
          calls: 0,
          bucketCounts: new Array<number>(DEFAULT_BUCKETS_MS.length + 1).fill(0),
          count: 0,
          sum: 0,
          exemplars: [],
        };
        resource.series.set(key, series);
      }
      const end = nanos(span.endTime);
      const start = nanos(span.startTime);
      const durationMs = end > start ? Number(end - start) / 1e6 : 0;
      const { traceId, spanId } = span.spanContext();
      series.exemplars.push({ traceId, spanId, value: durationMs });
      series.bucketCounts[searchFloat64s(DEFAULT_BUCKETS_MS, durationMs)] += 1;
      series.count += 1;
      series.sum += durationMs;
      series.calls += 1;
    }
  }

  /** buildMetrics at `nowNanos` as an ExportMetricsServiceRequest (protobufjs object), then resetState. */
  flush(nowNanos: bigint): object {
    const time = String(nowNanos);
    const exemplarsOf = (series: Series) =>
      series.exemplars.map((e) => ({
        timeUnixNano: time,
        asDouble: e.value,
        traceId: Buffer.from(e.traceId, 'hex'),
        spanId: Buffer.from(e.spanId, 'hex'),
      }));
    const request = {
      resourceMetrics: [...this.resources.values()].map((resource) => {
        const series = [...resource.series.values()];
        return {
          resource: { attributes: keyValues(resource.attributes) },
          scopeMetrics: [
            {
              scope: { name: 'spanmetricsconnector' },
              metrics: [
                {
                  name: CALLS_METRIC,
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: series.map((s) => ({
                      attributes: keyValues(s.attributes),
                      startTimeUnixNano: String(s.startNanos),
                      timeUnixNano: time,
                      asInt: String(s.calls),
                      exemplars: exemplarsOf(s),
                    })),
                  },
                },
                {
                  name: DURATION_METRIC,
                  unit: 'ms',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: series.map((s) => ({
                      attributes: keyValues(s.attributes),
                      startTimeUnixNano: String(s.startNanos),
                      timeUnixNano: time,
                      count: String(s.count),
                      sum: s.sum,
                      bucketCounts: s.bucketCounts.map(String),
                      explicitBounds: DEFAULT_BUCKETS_MS,
                      exemplars: exemplarsOf(s),
                    })),
                  },
                },
              ],
            },
          ],
        };
      }),
    };
    for (const resource of this.resources.values())
      for (const series of resource.series.values()) series.exemplars = [];
    return request;
  }
}

/** Sends one ExportMetricsServiceRequest as OTLP/HTTP protobuf, as the Collector's otlphttp exporter does. */
export async function postMetrics(httpUrl: string, request: object): Promise<number> {
  const response = await fetch(`${httpUrl}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: encodeMessage(METRICS_REQUEST, request),
  });
  await response.arrayBuffer();
  return response.status;
}
