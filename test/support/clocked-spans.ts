// Spans made with the real OTel SDK at times a test chooses (its fake clock), with seeded lognormal latencies and
// errors: one window of one arm's traffic per call. Each span is its own trace (a server root span), so splitting
// a window by trace id splits it request by request.
import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { seeded } from './arm-spans.js';

export interface WindowTraffic {
  service?: string;
  version: string;
  count: number;
  /** Median latency in ms; lognormal with sigma 0.3. */
  medianMs: number;
  errorRate: number;
  /** First span's start, ms since the epoch (the test's clock); spans spread over `windowMs`. */
  startMs: number;
  windowMs: number;
  seed: number;
  kind?: SpanKind;
  /** `http.response.status_code` of error spans (default 500) and of the others (200). */
  errorHttpStatus?: number;
}

function hrTime(nanosSinceEpoch: number): HrTime {
  const seconds = Math.floor(nanosSinceEpoch / 1e9);
  return [seconds, Math.round(nanosSinceEpoch - seconds * 1e9)];
}

export function windowSpans(traffic: WindowTraffic): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': traffic.service ?? 'checkout',
      'service.version': traffic.version,
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  }).getTracer('clocked-spans');
  const random = seeded(traffic.seed);
  for (let i = 0; i < traffic.count; i += 1) {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const latencyNanos = Math.round(traffic.medianMs * 1e6 * Math.exp(0.3 * normal));
    const startNanos = (traffic.startMs + (traffic.windowMs * i) / traffic.count) * 1e6;
    const failed = random() < traffic.errorRate;
    const span = tracer.startSpan('POST /checkout', {
      kind: traffic.kind ?? SpanKind.SERVER,
      startTime: hrTime(startNanos),
      attributes: {
        'http.request.method': 'POST',
        'http.response.status_code': failed ? (traffic.errorHttpStatus ?? 500) : 200,
      },
    });
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(hrTime(startNanos + latencyNanos));
  }
  return memory.getFinishedSpans();
}
