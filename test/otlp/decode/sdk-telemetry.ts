// Telemetry produced by the real OpenTelemetry JS SDKs, for decoding tests: spans from sdk-trace-base,
// metric collections from sdk-metrics, log records from sdk-logs. Times are fixed so durations are known.
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

export const RESOURCE_ATTRIBUTES = {
  'service.name': 'checkout',
  'service.version': '2.1.0',
  'k8s.pod.name': 'checkout-canary-7d9f',
};

/** 2023-11-14T22:13:20.123456789Z as [seconds, nanoseconds]. */
export const START: [number, number] = [1_700_000_000, 123_456_789];

/** Three spans of one trace: a server root, a client child (3 us long) with events, and an error. */
export function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRIBUTES),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('checkout-http', '1.0.0');
  const root = tracer.startSpan('GET /cart', {
    kind: SpanKind.SERVER,
    startTime: START,
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.duration_ratio': 0.25,
      'user.beta': true,
      'http.request.header.accept': ['application/json', 'text/html'],
      'retry.counts': [1, 2, 3],
    },
  });
  const rootContext = trace.setSpan(context.active(), root);
  const child: Span = tracer.startSpan(
    'SELECT cart',
    { kind: SpanKind.CLIENT, startTime: [START[0], START[1] + 1000] },
    rootContext,
  );
  child.addEvent(
    'feature_flag.evaluation',
    { 'feature_flag.key': 'new-cart', 'feature_flag.result.variant': 'on' },
    [START[0], START[1] + 2000],
  );
  child.end([START[0], START[1] + 4000]);
  const failing = tracer.startSpan(
    'charge',
    { kind: SpanKind.INTERNAL, startTime: [START[0], 999_999_999] },
    rootContext,
  );
  failing.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  // Crosses a second boundary: 999_999_999 ns -> 1 s + 2 ns later, 3 ns in all.
  failing.end([START[0] + 1, 2]);
  root.end([START[0] + 2, START[1]]);
  return exporter.getFinishedSpans();
}

class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One collection with a counter, an up-down counter, a gauge, an explicit and an exponential histogram. */
export async function sdkMetrics(temporality: AggregationTemporality): Promise<ResourceMetrics> {
  const reader = new CollectingReader({ aggregationTemporalitySelector: () => temporality });
  const provider = new MeterProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRIBUTES),
    readers: [reader],
    views: [
      {
        instrumentName: 'http.server.request.duration.exp',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
      },
    ],
  });
  const meter = provider.getMeter('checkout-metrics', '1.0.0');
  meter.createCounter('http.server.requests', { unit: '{request}' }).add(5, { 'http.route': '/cart' });
  meter.createUpDownCounter('queue.depth').add(-3);
  meter.createGauge('cpu.utilization', { unit: '1' }).record(0.5);
  const histogram = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.01, 0.1, 1] },
  });
  for (const v of [0.005, 0.05, 0.05, 0.5, 5]) histogram.record(v, { 'service.version': '2.1.0' });
  const exponential = meter.createHistogram('http.server.request.duration.exp', { unit: 's' });
  for (const v of [1, 2, 4, 0]) exponential.record(v);
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return resourceMetrics;
}

/** Two flag evaluations (one via event_name, one via the legacy event.name attribute) and one plain log. */
export async function sdkLogRecords(): Promise<ReadableLogRecord[]> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(RESOURCE_ATTRIBUTES),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('@openfeature/open-telemetry-hooks', '1.0.0');
  const spanContext = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
  };
  const withSpan = trace.setSpanContext(context.active(), spanContext);
  logger.emit({
    eventName: 'feature_flag.evaluation',
    timestamp: START,
    context: withSpan,
    attributes: { 'feature_flag.key': 'new-cart', 'feature_flag.result.variant': 'on' },
  });
  logger.emit({
    timestamp: START,
    attributes: { 'event.name': 'feature_flag.evaluation', 'feature_flag.key': 'new-cart' },
  });
  logger.emit({ severityNumber: SeverityNumber.INFO, body: 'cart loaded', timestamp: START });
  await provider.forceFlush();
  return exporter.getFinishedLogRecords();
}

export { AggregationTemporality };
