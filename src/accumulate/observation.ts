// Observations: what attribution hands to the accumulator, in one array per export request (ARCHITECTURE.md,
// Vocabulary). A span gives one latency sample; a metric point gives a delta histogram or delta counts.
// Judged spans reach the accumulator through a SpanRecorder, field by field; a SpanObservation object is made
// only for a span that must wait for its variant (correlation-buffer.ts), and by sinks that keep what they see.
// The type lives here, with its consumer, below attribution in the data flow.
import type { ExplicitBuckets, ExponentialBuckets } from '../otlp/model.js';

export type Arm = 'baseline' | 'canary';

/** The latency range the accumulator represents (defined with the decoded model, which enforces it first). */
export { MAX_LATENCY_NANOS } from '../otlp/model.js';

interface ObservationBase {
  /** The run (one judgement of one rollout revision) the observation is evidence for. */
  runId: string;
  arm: Arm;
  /** When the request started (spans) or the interval ended (points), by the sender's clock. */
  timeUnixMs: number;
  /**
   * The exporting process (a digest of its resource), so the accumulator can tell how far each sender's
   * data has arrived (its watermark); see src/accumulate/source-watermark.ts.
   */
  sourceKey: string;
}

/** One judged span: its duration and whether it counts as an error under the analysis's error rule. */
export interface SpanObservation extends ObservationBase {
  kind: 'span';
  durationNanos: number;
  isError: boolean;
  /** The span's trace id (32 hex characters): an exemplar when the span is an error, and the report's trace
   * examples (trace-examples.ts). */
  traceId?: string;
}

/**
 * A delta latency histogram from a metric point (cumulative points already converted to deltas).
 * Bucket values are in nanoseconds whatever the metric's unit; `errors` counts the requests of this
 * point that are errors (all of them when the point's attributes say so, else 0).
 */
export interface HistogramObservation extends ObservationBase {
  kind: 'histogram';
  explicit?: ExplicitBuckets;
  exponential?: ExponentialBuckets;
  count: number;
  /**
   * Requests the point counts when not `count`: 0 for a latency histogram whose requests come from another
   * metric of the analysis (match.requestsMetric, e.g. spanmetrics' calls beside its duration).
   */
  requests?: number;
  errors: number;
  /** Trace ids of the point's exemplars. */
  exemplarTraceIds?: string[];
  /** Exact sum of the point's latencies in ns (the point's `sum`), when the sender reported one. */
  sumNanos?: number;
  /** The point's min and max in ns, when reported: they bound the outer buckets (the open overflow one too). */
  minNanos?: number;
  maxNanos?: number;
}

/** Delta request and error counts from a monotonic sum point. */
export interface CountObservation extends ObservationBase {
  kind: 'count';
  requests: number;
  errors: number;
  /** Trace ids of the point's exemplars. */
  exemplarTraceIds?: string[];
}

export type Observation = SpanObservation | HistogramObservation | CountObservation;

/**
 * Records judged spans one by one, without an observation object per span and analysis (issue 13: "accumulate
 * directly"): the arguments are a SpanObservation's fields. One recorder serves one export request, from
 * ObservationSink.beginSpans to `end`, and spans are recorded in the order they were judged.
 */
export interface SpanRecorder {
  recordSpan(
    runId: string,
    arm: Arm,
    timeUnixMs: number,
    sourceKey: string,
    durationNanos: number,
    isError: boolean,
    traceId: string | undefined,
  ): void;
  /** The request's spans are all recorded. */
  end(): void;
}

/**
 * Receives one export request's evidence, synchronously: its spans through the recorder `beginSpans` returns
 * (attribution calls it once per request that judges or releases spans, and ends it before the request's
 * other observations, if any, go to `accept`), its metric points as observations.
 */
export interface ObservationSink {
  accept(observations: Observation[]): void;
  beginSpans(): SpanRecorder;
}
