// The decoded telemetry model: what the OTLP receivers hand to attribution.
//
// Only what the pipeline needs is kept (see ARCHITECTURE.md, Vocabulary). Times are split in two on
// purpose: wall-clock instants as milliseconds (a double loses nothing that matters at ms precision),
// durations as nanoseconds computed from the exact 64-bit difference, so a 3 us span stays 3000 ns.

/** An OTLP AnyValue, decoded. Bytes become lowercase hex strings; int64 becomes a number (exact below 2^53). */
export type AttributeValue =
  string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

/** One resource (a process or service instance), shared by every span/point/record under it. */
export interface ResourceInfo {
  /** `service.name`, or '' when the sender did not set it. */
  serviceName: string;
  attributes: Attributes;
}

/** OTLP Span.SpanKind numbers (trace.proto). */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** OTLP Status.StatusCode numbers (trace.proto). */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

export interface SpanEvent {
  name: string;
  timeUnixMs: number;
  attributes: Attributes;
}

/**
 * A decoded span. From the OTLP/protobuf decoder, `attributes` (and each event's) is an accessor on the
 * class that decodes the attribute bytes on first read and caches the object
 * (src/otlp/decode/lazy-attributes.ts); malformed bytes were already refused at decode time, so a read
 * never throws. Being on the class, it is not an own property: a spread or Object.keys of such a span
 * leaves it out, JSON.stringify and plainSpan (lazy-attributes.ts) give the plain data. Until that first read the span references the whole request buffer. The rule for
 * consumers: use spans during the synchronous sink call and keep derived values (as attribution keeps
 * SpanObservations), not the spans. Something that must keep a span longer should read its `attributes`
 * (and its events') first, which drops the buffer reference; the buffer itself must not be modified
 * while undecoded spans exist.
 */
export interface DecodedSpan {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  /** 16 lowercase hex characters, or '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKind;
  startTimeUnixMs: number;
  /**
   * end - start in nanoseconds, exact below 2^53; negative when the end precedes the start. The receivers
   * reject such spans, and those with no start or longer than MAX_LATENCY_NANOS (src/otlp/span-times.ts).
   */
  durationNanos: number;
  statusCode: StatusCode;
  statusMessage: string;
  attributes: Attributes;
  events: SpanEvent[];
  resource: ResourceInfo;
  scopeName: string;
}

/** OTLP AggregationTemporality numbers (metrics.proto). */
export const Temporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;
export type Temporality = (typeof Temporality)[keyof typeof Temporality];

export type MetricType = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';

export interface ExplicitBuckets {
  /** Upper bounds, ascending; bucketCounts has bounds.length + 1 entries (the last is the overflow bucket). */
  bounds: number[];
  bucketCounts: number[];
}

export interface ExponentialBuckets {
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positive: { offset: number; bucketCounts: number[] };
  negative: { offset: number; bucketCounts: number[] };
}

export interface DecodedMetricPoint {
  resource: ResourceInfo;
  scopeName: string;
  metricName: string;
  unit: string;
  type: MetricType;
  temporality: Temporality;
  /** Only meaningful for `sum`. */
  isMonotonic: boolean;
  attributes: Attributes;
  startTimeUnixMs: number;
  timeUnixMs: number;
  /** gauge and sum: the point's value (as_double or as_int). */
  value?: number;
  /** histogram, exponential_histogram and summary. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  explicit?: ExplicitBuckets;
  exponential?: ExponentialBuckets;
  /** Trace ids (hex) of the point's exemplars, in order; used to join points to known trace variants. */
  exemplarTraceIds: string[];
  /**
   * Set when the point's flags say NO_RECORDED_VALUE (metrics.proto DataPointFlags): a staleness marker, such
   * as the Collector's prometheus receiver sends for a failed scrape. It holds no data; absent otherwise.
   */
  noRecordedValue?: true;
}

/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK (metrics.proto). */
export const NO_RECORDED_VALUE_FLAG = 1;

/** A log record that matters to canary-judge: an OpenFeature `feature_flag.evaluation` event. */
export interface DecodedFlagEvaluation {
  /** `event_name` of the LogRecord, or its `event.name` attribute from older senders. */
  eventName: string;
  /** 32 hex characters, or '' when the record carries no trace context. */
  traceId: string;
  spanId: string;
  timeUnixMs: number;
  attributes: Attributes;
  resource: ResourceInfo;
}

/** The name the semantic conventions give flag-evaluation events (log-based and span events). */
export const FLAG_EVALUATION_EVENT = 'feature_flag.evaluation';

/**
 * Why an item was rejected, the `reason` label of canary_judge_otlp_items_rejected_total: unusable trace or
 * span ids, span times that cannot be a duration (start 0, end before start, longer than
 * MAX_LATENCY_NANOS), a histogram breaking metrics.proto's rules or the numeric ranges, anything else.
 */
export type RejectReason = 'invalid_id' | 'invalid_span_time' | 'invalid_histogram' | 'invalid_item';

/**
 * The latency range canary-judge represents: (0, 2^53 ns], about 104 days. Longer spans are rejected at
 * decode time and histogram buckets past it are ignored by attribution, so no statistic sees a value it
 * cannot order exactly.
 */
export const MAX_LATENCY_NANOS = 2 ** 53;

/** What one export request decoded to; `rejected` counts items that were present but unusable. */
interface Rejected {
  rejected: number;
  rejectMessage: string;
  /** `rejected` split by reason; present only when something was rejected. */
  rejectReasons?: Partial<Record<RejectReason, number>>;
}

export interface SpanBatch extends Rejected {
  spans: DecodedSpan[];
}

export interface MetricBatch extends Rejected {
  points: DecodedMetricPoint[];
}

export interface LogBatch extends Rejected {
  flagEvaluations: DecodedFlagEvaluation[];
  /** Log records that are not flag evaluations: counted, then dropped by design. */
  ignored: number;
}

/**
 * Where receivers hand decoded batches. Called synchronously once per export request, so the
 * pipeline works in batches and never through an async hop per span (ARCHITECTURE.md).
 */
export interface TelemetrySink {
  acceptSpans(batch: SpanBatch): void;
  acceptMetrics(batch: MetricBatch): void;
  acceptLogs(batch: LogBatch): void;
}
