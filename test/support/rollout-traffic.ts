// Traffic of a rollout in progress, made with the real OTel SDK and sent with the real OTLP/gRPC exporter:
// server spans of the stable and the canary pods, split by the step's weight, with seeded lognormal latencies
// and errors, at event times inside a given window of the (fake) clock the sidecar runs on. The controller
// tests send one window of traffic per analysis interval at the weight the controller has set.
import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { seeded } from './arm-spans.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { exportOnce, succeeded, traceExporter } from './telemetry.js';

export interface PodProfile {
  /** Resource attributes of the exporting pod (service.name, the variant attribute, ...). */
  resource: Record<string, string>;
  /** Median latency in ms; latencies are lognormal with sigma 0.3. */
  medianMs: number;
  errorRate: number;
}

export interface TrafficWindow {
  startMs: number;
  endMs: number;
}

/** A (fractional) millisecond time as OTel's [seconds, nanoseconds]. */
function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
}

/** `count` server spans of one pod, started evenly over the window. */
export function podSpans(
  profile: PodProfile,
  count: number,
  window: TrafficWindow,
  seed: number,
): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    resource: resourceFromAttributes(profile.resource),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  }).getTracer('rollout-traffic');
  const random = seeded(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const stepMs = (window.endMs - window.startMs) / Math.max(1, count);
  for (let i = 0; i < count; i += 1) {
    const startMs = window.startMs + i * stepMs;
    const latencyMs = profile.medianMs * Math.exp(0.3 * normal());
    const failed = random() < profile.errorRate;
    const span = tracer.startSpan('POST /checkout', {
      kind: SpanKind.SERVER,
      startTime: hrTime(startMs),
      attributes: { 'http.request.method': 'POST', 'http.response.status_code': failed ? 500 : 200 },
    });
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(hrTime(startMs + latencyMs));
  }
  return memory.getFinishedSpans();
}

export interface StepTraffic {
  baseline: PodProfile;
  canary: PodProfile;
  /** Requests in the window over both arms; the canary gets round(requests * canaryShare) of them. */
  requests: number;
  canaryShare: number;
  window: TrafficWindow;
  seed: number;
}

/** Sends one window of a step's traffic in one OTLP/gRPC export; resolves once the sidecar has accepted it. */
export async function sendStepTraffic(
  grpcUrl: string,
  step: StepTraffic,
): Promise<{ baseline: number; canary: number }> {
  const canary = Math.round(step.requests * step.canaryShare);
  const baseline = step.requests - canary;
  const spans = [
    ...podSpans(step.baseline, baseline, step.window, step.seed),
    ...podSpans(step.canary, canary, step.window, step.seed + 1),
  ];
  const exporter = traceExporter('grpc', { grpcUrl, httpUrl: '' });
  try {
    const result = await exportOnce(exporter, spans);
    if (!succeeded(result)) throw new Error(`export failed: ${result.error?.message ?? 'unknown'}`);
  } finally {
    await exporter.shutdown();
  }
  return { baseline, canary };
}

/**
 * The world between two controller measurements: a step's traffic over the window, exported in
 * MIN_ERROR_BLOCKS parts with a judge tick after each (as exporters send batches and the judge ticks every few
 * seconds; the error rate's variance comes from per-tick blocks), then the clock at the window's end.
 */
export async function flowStepTraffic(
  judging: { grpcUrl: string; advanceTo(ms: number): void; tick(): void },
  step: StepTraffic,
): Promise<void> {
  const { startMs, endMs } = step.window;
  const parts = step.requests > 0 ? MIN_ERROR_BLOCKS : 1;
  for (let part = 0; part < parts; part += 1) {
    const window = {
      startMs: startMs + ((endMs - startMs) * part) / parts,
      endMs: startMs + ((endMs - startMs) * (part + 1)) / parts,
    };
    const requests =
      Math.round((step.requests * (part + 1)) / parts) - Math.round((step.requests * part) / parts);
    judging.advanceTo(Math.ceil(window.endMs));
    if (requests > 0)
      await sendStepTraffic(judging.grpcUrl, { ...step, requests, window, seed: step.seed + 2 * part });
    judging.tick();
  }
}
