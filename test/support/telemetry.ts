// Known telemetry made with the real OpenTelemetry JS SDK, and the real OTLP exporters for every
// transport, so tests send exactly what an instrumented service sends.
import { context, trace, SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
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

export type ExporterKind = 'grpc' | 'http-json' | 'http-protobuf';
export const EXPORTER_KINDS: ExporterKind[] = ['grpc', 'http-json', 'http-protobuf'];

interface Exporter<T> {
  export(items: T, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

export interface Endpoints {
  grpcUrl: string;
  httpUrl: string;
  headers?: Record<string, string>;
  gzip?: boolean;
}

function common(endpoints: Endpoints, path: string, kind: ExporterKind) {
  const compression = endpoints.gzip ? ('gzip' as never) : ('none' as never);
  if (kind === 'grpc') {
    return { url: endpoints.grpcUrl, compression, metadata: undefined, timeoutMillis: 10_000 };
  }
  return {
    url: `${endpoints.httpUrl}${path}`,
    compression,
    headers: endpoints.headers,
    timeoutMillis: 10_000,
  };
}

export function traceExporter(kind: ExporterKind, endpoints: Endpoints): Exporter<ReadableSpan[]> {
  const options = common(endpoints, '/v1/traces', kind);
  if (kind === 'grpc') return new GrpcTraceExporter(options);
  return kind === 'http-json' ? new JsonTraceExporter(options) : new ProtoTraceExporter(options);
}

export function metricExporter(kind: ExporterKind, endpoints: Endpoints): Exporter<ResourceMetrics> {
  const options = {
    ...common(endpoints, '/v1/metrics', kind),
    temporalityPreference: AggregationTemporality.CUMULATIVE,
  };
  if (kind === 'grpc') return new GrpcMetricExporter(options);
  return kind === 'http-json' ? new JsonMetricExporter(options) : new ProtoMetricExporter(options);
}

export function logExporter(kind: ExporterKind, endpoints: Endpoints): Exporter<ReadableLogRecord[]> {
  const options = common(endpoints, '/v1/logs', kind);
  if (kind === 'grpc') return new GrpcLogExporter(options);
  return kind === 'http-json' ? new JsonLogExporter(options) : new ProtoLogExporter(options);
}

/** Exports once and resolves with the exporter's result (SUCCESS or FAILED with its error). */
export function exportOnce<T>(exporter: Exporter<T>, items: T): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

export function succeeded(result: ExportResult): boolean {
  return result.code === ExportResultCode.SUCCESS;
}

const T0: HrTime = [1_764_000_000, 123_000_000];
const at = (offsetNanos: number): HrTime => {
  const nanos = T0[1] + offsetNanos;
  return [T0[0] + Math.floor(nanos / 1e9), nanos % 1e9];
};

/** Three spans of one trace with exact timings: a frontend server span with a flag event, a client span, a backend server span. */
export function knownSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const make = (service: string, version: string) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': service,
        'service.version': version,
        'k8s.pod.label.role': 'canary',
      }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    }).getTracer('test-scope');
  const frontend = make('frontend', '1.0.0');
  const backend = make('checkout', '2.1.0');
  const root = frontend.startSpan('GET /cart', {
    kind: SpanKind.SERVER,
    startTime: at(0),
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'sample.ratio': 0.25,
      cached: true,
      tags: ['a', 'b'],
    },
  });
  root.addEvent(
    'feature_flag.evaluation',
    { 'feature_flag.key': 'new-checkout-flow', 'feature_flag.result.variant': 'on' },
    at(1_000),
  );
  const parent = trace.setSpan(context.active(), root);
  const client = frontend.startSpan('POST', { kind: SpanKind.CLIENT, startTime: at(10_000) }, parent);
  const server = backend.startSpan(
    'POST /checkout',
    { kind: SpanKind.SERVER, startTime: at(20_000), attributes: { 'http.response.status_code': 503 } },
    trace.setSpan(context.active(), client),
  );
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment backend down' });
  server.end(at(20_000 + 1_234_567));
  client.end(at(10_000 + 2_000_001));
  root.end(at(3_000_000_003));
  return memory.getFinishedSpans();
}

class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** A counter, an explicit-bucket histogram and an exponential histogram, collected once (cumulative). */
export async function knownMetrics(): Promise<ResourceMetrics> {
  const reader = new CollectingReader({
    aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.1.0' }),
    readers: [reader],
    views: [
      {
        instrumentName: 'checkout.duration.exp',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      },
    ],
  });
  const meter = provider.getMeter('test-meter');
  const requests = meter.createCounter('http.server.requests');
  requests.add(5, { variant: 'on' });
  requests.add(7, { variant: 'off' });
  const histogram = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.01, 0.1, 1] },
  });
  for (const value of [0.005, 0.05, 0.05, 0.5, 5]) histogram.record(value, { variant: 'on' });
  const exponential = meter.createHistogram('checkout.duration.exp', { unit: 'ms' });
  for (const value of [1, 2, 4, 8, 100]) exponential.record(value);
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return resourceMetrics;
}

/** One flag-evaluation event (log-based, with trace context) and one ordinary log record. */
export function knownLogRecords(): { records: ReadableLogRecord[]; traceId: string; spanId: string } {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'frontend' }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const logger = provider.getLogger('@openfeature/open-telemetry-hooks');
  const span = new BasicTracerProvider().getTracer('t').startSpan('GET /cart');
  const spanContext = span.spanContext();
  logger.emit({
    eventName: 'feature_flag.evaluation',
    context: trace.setSpan(context.active(), span),
    attributes: {
      'feature_flag.key': 'new-checkout-flow',
      'feature_flag.result.variant': 'on',
      'feature_flag.provider.name': 'flagd',
    },
  });
  logger.emit({ body: 'an ordinary log line', attributes: { 'log.kind': 'app' } });
  span.end();
  return {
    records: memory.getFinishedLogRecords(),
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
  };
}

/**
 * Exports each arm's items in `parts` slices, one slice of every arm per export, and after each export waits
 * until `judged(total)` says the judge has evaluated at least `total` requests, so every slice is one tick's
 * block of the error-rate variance (stats/error-blocks.ts) however the timers fall: traffic that arrives over
 * several ticks, as exporters send it. Resolves true when every export succeeded.
 */
export async function exportTickByTick<T>(
  exporter: Exporter<T[]>,
  arms: T[][],
  parts: number,
  judged: (total: number) => Promise<boolean>,
): Promise<boolean> {
  let ok = true;
  let total = 0;
  for (let p = 0; p < parts; p += 1) {
    const slice = arms.flatMap((items) =>
      items.slice(Math.floor((items.length * p) / parts), Math.floor((items.length * (p + 1)) / parts)),
    );
    ok = succeeded(await exportOnce(exporter, slice)) && ok;
    total += slice.length;
    for (let i = 0; i < 400 && !(await judged(total)); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return ok;
}

/**
 * For exportTickByTick: whether the verdict of the analysis's run of `revision` on the API at `apiPort` counts
 * `total` requests (its current stage's).
 */
export function judgedRequests(
  apiPort: number,
  analysisId: string,
  revision: string,
  headers: Record<string, string> = {},
): (total: number) => Promise<boolean> {
  return async (total) => {
    const response = await fetch(
      `http://127.0.0.1:${apiPort}/api/v1/analyses/${encodeURIComponent(analysisId)}/runs/${encodeURIComponent(revision)}/verdict`,
      { headers },
    );
    if (response.status !== 200) return false;
    const { samples } = (await response.json()) as { samples: { baseline: number; canary: number } };
    return samples.baseline + samples.canary >= total;
  };
}
