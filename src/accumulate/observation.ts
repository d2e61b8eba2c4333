// Observations: what attribution hands to the accumulator, in one array per export request (ARCHITECTURE.md,
// Vocabulary). A span gives one latency sample; a metric point gives a delta histogram or delta counts.
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

/** Entries kept allocated between requests; a larger request's columns are let go after it. */
const RETAINED_JUDGED_SPANS = 8192;

/**
 * The spans one export request judged directly, one entry per span-analysis pair, in columns: attribution
 * appends the fields and the accumulator reads them, so no observation object is made per pair (a span
 * parked in a correlation buffer waits as a SpanObservation and arrives among the observations instead).
 * Attribution reuses one instance request after request: a sink reads it during its call only.
 */
export class JudgedSpans {
  length = 0;
  readonly runIds: string[] = [];
  readonly arms: Arm[] = [];
  readonly timesUnixMs: number[] = [];
  readonly sourceKeys: string[] = [];
  readonly durationsNanos: number[] = [];
  readonly errors: boolean[] = [];
  readonly traceIds: string[] = [];

  push(
    runId: string,
    arm: Arm,
    timeUnixMs: number,
    sourceKey: string,
    durationNanos: number,
    isError: boolean,
    traceId: string,
  ): void {
    const i = this.length++;
    this.runIds[i] = runId;
    this.arms[i] = arm;
    this.timesUnixMs[i] = timeUnixMs;
    this.sourceKeys[i] = sourceKey;
    this.durationsNanos[i] = durationNanos;
    this.errors[i] = isError;
    this.traceIds[i] = traceId;
  }

  /** Empties the columns for the next request (keeping their storage unless they grew large). */
  clear(): void {
    if (this.length > RETAINED_JUDGED_SPANS) {
      for (const column of [
        this.runIds,
        this.arms,
        this.timesUnixMs,
        this.sourceKeys,
        this.durationsNanos,
        this.errors,
        this.traceIds,
      ])
        column.length = 0;
    }
    this.length = 0;
  }

  /** Entry `i` as an observation object (for sinks that keep what they receive, e.g. tests). */
  observation(i: number): SpanObservation {
    return {
      kind: 'span',
      runId: this.runIds[i],
      arm: this.arms[i],
      timeUnixMs: this.timesUnixMs[i],
      sourceKey: this.sourceKeys[i],
      durationNanos: this.durationsNanos[i],
      isError: this.errors[i],
      traceId: this.traceIds[i],
    };
  }

  toObservations(): SpanObservation[] {
    return Array.from({ length: this.length }, (_, i) => this.observation(i));
  }
}

/**
 * Receives what one export request gave, synchronously, in one call: observations (metric points, spans
 * released from a correlation buffer) and the spans judged directly, which come after them in arrival order.
 */
export interface ObservationSink {
  accept(observations: Observation[], judged?: JudgedSpans): void;
}
