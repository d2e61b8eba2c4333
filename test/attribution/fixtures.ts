// Builders for decoded telemetry, a fake clock and a recording sink, shared by the attribution tests.
import { Registry } from 'prom-client';
import {
  analysisSchema,
  attributionLimitsSchema,
  type AnalysisInput,
  type AttributionLimits,
} from '../../src/config/analysis.js';
import type {
  Observation,
  ObservationSink,
  SpanObservation,
  SpanRecorder,
} from '../../src/accumulate/observation.js';
import { AttributionPipeline } from '../../src/attribution/pipeline.js';
import {
  SpanKind,
  StatusCode,
  Temporality,
  type Attributes,
  type DecodedFlagEvaluation,
  type DecodedMetricPoint,
  type DecodedSpan,
  type ResourceInfo,
  type SpanEvent,
} from '../../src/otlp/model.js';

export const T0 = 1_760_000_000_000;

export function resource(serviceName: string, attributes: Attributes = {}): ResourceInfo {
  return { serviceName, attributes: { 'service.name': serviceName, ...attributes } };
}

let spanCounter = 0;
export function spanId(): string {
  spanCounter += 1;
  return spanCounter.toString(16).padStart(16, '0');
}

export function traceId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

export function span(overrides: Partial<DecodedSpan> = {}): DecodedSpan {
  return {
    traceId: traceId(1),
    spanId: spanId(),
    parentSpanId: '',
    name: 'POST /checkout',
    kind: SpanKind.SERVER,
    startTimeUnixMs: T0,
    durationNanos: 5_000_000,
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes: {},
    events: [],
    resource: resource('checkout'),
    scopeName: 'test',
    ...overrides,
  };
}

/** A `feature_flag.evaluation` span event (SpanEventHook); `name` may be the older `feature_flag`. */
export function flagEvent(
  key: string,
  variant: string,
  name = 'feature_flag.evaluation',
  variantKey = 'feature_flag.result.variant',
): SpanEvent {
  return { name, timeUnixMs: T0, attributes: { 'feature_flag.key': key, [variantKey]: variant } };
}

/** A frontend span that evaluated `key` (as a span event). */
export function frontendSpan(
  trace: string,
  key: string,
  variant: string,
  extra: Partial<DecodedSpan> = {},
): DecodedSpan {
  return span({
    traceId: trace,
    name: 'GET /',
    resource: resource('frontend'),
    events: [flagEvent(key, variant)],
    ...extra,
  });
}

export function logEvaluation(
  trace: string,
  key: string,
  variant: string,
  attributes: Attributes = {},
): DecodedFlagEvaluation {
  return {
    eventName: 'feature_flag.evaluation',
    traceId: trace,
    spanId: '',
    timeUnixMs: T0,
    attributes: { 'feature_flag.key': key, 'feature_flag.result.variant': variant, ...attributes },
    resource: resource('frontend'),
  };
}

export function point(overrides: Partial<DecodedMetricPoint> = {}): DecodedMetricPoint {
  return {
    resource: resource('checkout'),
    scopeName: 'test',
    metricName: 'http.server.request.duration',
    unit: 's',
    type: 'histogram',
    temporality: Temporality.DELTA,
    isMonotonic: false,
    attributes: {},
    startTimeUnixMs: T0 - 60_000,
    timeUnixMs: T0,
    count: 3,
    sum: 0.3,
    explicit: { bounds: [0.05, 0.1, 0.5], bucketCounts: [1, 1, 1, 0] },
    exemplarTraceIds: [],
    ...overrides,
  };
}

export class FakeClock {
  constructor(public nowMs = T0) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/**
 * Keeps every batch it is given, as observations: a request's recorded spans (SpanRecorder) become one batch
 * of SpanObservations in the order they were recorded, as the pipeline once handed them over.
 */
export class RecordingSink implements ObservationSink {
  readonly batches: Observation[][] = [];
  accept(observations: Observation[]): void {
    this.batches.push(observations);
  }
  beginSpans(): SpanRecorder {
    const spans: SpanObservation[] = [];
    return {
      recordSpan: (runId, arm, timeUnixMs, sourceKey, durationNanos, isError, traceId) => {
        spans.push({ kind: 'span', runId, arm, timeUnixMs, sourceKey, durationNanos, isError, traceId });
      },
      end: () => {
        if (spans.length > 0) this.batches.push(spans);
      },
    };
  }
  get all(): Observation[] {
    return this.batches.flat();
  }
  arms(): string[] {
    return this.all.map((o) => o.arm);
  }
}

export const checkoutAnalysis: AnalysisInput = {
  id: 'checkout-new-flow',
  match: { service: 'checkout', spanKind: 'server', spanName: 'POST /checkout*' },
  variant: { flag: 'new-checkout-flow' },
  baseline: 'off',
  canary: 'on',
};

export interface Harness {
  pipeline: AttributionPipeline;
  sink: RecordingSink;
  clock: FakeClock;
  registry: Registry;
}

export function harness(
  analyses: AnalysisInput[] = [checkoutAnalysis],
  limits: Partial<AttributionLimits> = {},
): Harness {
  const sink = new RecordingSink();
  const clock = new FakeClock();
  const registry = new Registry();
  const pipeline = new AttributionPipeline({
    limits: attributionLimitsSchema.parse(limits),
    sink,
    registry,
    clock: clock.now,
  });
  // Each analysis routes to a run named after it, so observations name their analysis as their run.
  for (const analysis of analyses) pipeline.routeRun(analysis.id, analysisSchema.parse(analysis));
  return { pipeline, sink, clock, registry };
}

export const spans = (...list: DecodedSpan[]) => ({ spans: list, rejected: 0, rejectMessage: '' });
export const logs = (...list: DecodedFlagEvaluation[]) => ({
  flagEvaluations: list,
  ignored: 0,
  rejected: 0,
  rejectMessage: '',
});
export const points = (...list: DecodedMetricPoint[]) => ({ points: list, rejected: 0, rejectMessage: '' });

/** The value of one counter/gauge series, 0 when absent. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value ?? 0;
}
