// Server spans of two service versions made with the real OTel SDK, with seeded latencies and errors,
// for tests that need a known regression (or none) between a baseline and a canary.
import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

export interface ArmProfile {
  version: string;
  count: number;
  /** Median latency in ms; latencies are lognormal with sigma 0.3. */
  medianMs: number;
  errorRate: number;
}

/** A small deterministic PRNG (mulberry32), so tests see the same data every run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * One start second for every arm a test file makes, a few seconds in the past: spans of both arms sent in one
 * burst then fall in the same second, already below any watermark, instead of straddling a second boundary
 * when the machine is slow between two calls (which made one arm look later than the other).
 */
const BASE_SECONDS = Math.floor(Date.now() / 1000) - 5;

export function armSpans(profile: ArmProfile, seed: number, service = 'checkout'): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': profile.version }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  }).getTracer('arm-spans');
  const random = seeded(seed);
  const base = BASE_SECONDS;
  for (let i = 0; i < profile.count; i += 1) {
    const latencyNanos = Math.round(profile.medianMs * 1e6 * Math.exp(0.3 * normal(random)));
    const start: HrTime = [base, i * 1000];
    const end: HrTime = [base + Math.floor((i * 1000 + latencyNanos) / 1e9), (i * 1000 + latencyNanos) % 1e9];
    const failed = random() < profile.errorRate;
    const span = tracer.startSpan('POST /checkout', {
      kind: SpanKind.SERVER,
      startTime: start,
      attributes: { 'http.request.method': 'POST', 'http.response.status_code': failed ? 500 : 200 },
    });
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(end);
  }
  return memory.getFinishedSpans();
}

/** A span observation waiting in a correlation buffer (run `a`, baseline until released), of the given duration. */
export const pendingSpan = (durationNanos: number) => ({
  kind: 'span' as const,
  runId: 'a',
  arm: 'baseline' as const,
  timeUnixMs: 0,
  sourceKey: 'source',
  durationNanos,
  isError: false,
});
