// One arm of one analysis (or of one stage of a run): request and error counts and its latencies. Requests can
// exceed the latency count (count observations carry no latency), so the error rate uses `requests` and the
// latency tests use `latencyCount`.
//
// Latencies live in two stores: `latency`, the mergeable exponential histogram that spans and fine exponential
// points land in (within 0.54%), and `coarseLatency`, the interval-censored values of explicit-bucket and
// low-scale exponential points (coarse-latency.ts). `latencySumNanos` is the exact sum of every recorded
// latency whose source reported one (a span's duration, a histogram point's `sum`); the mean comparison needs
// it for all of them, so values from points without a sum are counted in `latencyValuesWithoutSum`.
// `exemplars` keeps a few trace ids (error spans, point exemplars) a verdict can point at (trace-exemplars.ts).
import { CoarseLatency, type CoarseLatencySnapshot } from './coarse-latency.js';
import { LatencyHistogram, type LatencyHistogramSnapshot } from './latency-histogram.js';
import { recordExplicitBuckets, recordExponentialBuckets } from './otlp-buckets.js';
import { TraceExemplars, type TraceExemplarsSnapshot } from './trace-exemplars.js';
import type { ExplicitBuckets, ExponentialBuckets } from '../otlp/model.js';

export interface ArmStateSnapshot {
  requests: number;
  errors: number;
  latency: LatencyHistogramSnapshot;
  /** Absent in snapshots written before coarse latencies were kept apart. */
  coarseLatency?: CoarseLatencySnapshot;
  latencySumNanos?: number;
  latencyValuesWithoutSum?: number;
  /** Absent in snapshots written before exemplars were kept. */
  exemplars?: TraceExemplarsSnapshot;
}

/** What a histogram data point contributes (HistogramObservation carries these fields). */
export interface HistogramPoint {
  count: number;
  /**
   * Requests the point counts (default `count`); 0 for a latency histogram whose requests another metric
   * counts (a spanmetrics duration beside its calls), so no request is counted twice.
   */
  requests?: number;
  errors: number;
  explicit?: ExplicitBuckets;
  exponential?: ExponentialBuckets;
  /** Exact sum of the point's values (ns), when the sender reported one. */
  sumNanos?: number;
  minNanos?: number;
  maxNanos?: number;
  /** Trace ids of the point's exemplars. */
  exemplarTraceIds?: readonly string[];
}

export class ArmState {
  requests = 0;
  errors = 0;
  readonly latency: LatencyHistogram;
  readonly coarseLatency: CoarseLatency;
  /**
   * Starts as a double (0.5, set to 0 in the constructor): a sum of nanoseconds passes 2^31 (2.1 s) within
   * seconds of load, and a field V8 had made a small integer then changes representation, which
   * deoptimizes every function compiled against ArmState (recordSpan inlined into acceptSpans) at a moment
   * the load decides (`--trace-migration`: "latencySumNanos:s->d").
   */
  latencySumNanos = 0.5;
  latencyValuesWithoutSum = 0;
  exemplars: TraceExemplars;

  constructor(
    latency: LatencyHistogram = new LatencyHistogram(),
    coarseLatency = new CoarseLatency(),
    exemplars = new TraceExemplars(),
  ) {
    this.latencySumNanos = 0;
    this.latency = latency;
    this.coarseLatency = coarseLatency;
    this.exemplars = exemplars;
  }

  get errorRate(): number {
    return this.requests > 0 ? this.errors / this.requests : NaN;
  }

  /** Latency values in both stores. */
  get latencyCount(): number {
    return this.latency.count + this.coarseLatency.count;
  }

  /** One request with its duration (a span); an error span's trace id is kept as an exemplar. */
  recordSpan(durationNanos: number, isError: boolean, traceId?: string): void {
    this.requests += 1;
    if (isError) {
      this.errors += 1;
      if (traceId !== undefined) this.exemplars.noteError(traceId);
    }
    this.latency.record(durationNanos);
    this.latencySumNanos += durationNanos > 0 && Number.isFinite(durationNanos) ? durationNanos : 0;
  }

  /** A delta histogram point: its requests, errors and latencies. */
  recordHistogram(point: HistogramPoint): void {
    this.requests += point.requests ?? point.count;
    this.errors += point.errors;
    this.exemplars.notePoint(point.exemplarTraceIds, point.errors > 0);
    if (!point.exponential && !point.explicit) return; // no latencies: the sum would cover nothing recorded
    const range = { minNanos: point.minNanos, maxNanos: point.maxNanos };
    let values = 0;
    if (point.exponential)
      values = recordExponentialBuckets(this.latency, this.coarseLatency, point.exponential, range);
    else if (point.explicit)
      values = recordExplicitBuckets(this.latency, this.coarseLatency, point.explicit, range);
    if (point.sumNanos !== undefined && Number.isFinite(point.sumNanos))
      this.latencySumNanos += point.sumNanos;
    else this.latencyValuesWithoutSum += values;
  }

  /** Requests and errors without latencies (a monotonic sum point), with the point's exemplars. */
  recordCounts(requests: number, errors: number, exemplarTraceIds?: readonly string[]): void {
    this.requests += requests;
    this.errors += errors;
    this.exemplars.notePoint(exemplarTraceIds, errors > 0);
  }

  mergeFrom(other: ArmState): void {
    this.requests += other.requests;
    this.errors += other.errors;
    this.latency.mergeFrom(other.latency);
    this.coarseLatency.mergeFrom(other.coarseLatency);
    this.latencySumNanos += other.latencySumNanos;
    this.latencyValuesWithoutSum += other.latencyValuesWithoutSum;
    this.exemplars.mergeFrom(other.exemplars);
  }

  /** What fromSnapshot(toSnapshot()) gives, without the histogram's intermediate snapshot. */
  clone(): ArmState {
    const arm = new ArmState(
      this.latency.clone(),
      this.coarseLatency.clone(),
      TraceExemplars.fromSnapshot(this.exemplars.toSnapshot()),
    );
    arm.requests = this.requests;
    arm.errors = this.errors;
    arm.latencySumNanos = this.latencySumNanos;
    arm.latencyValuesWithoutSum = this.latencyValuesWithoutSum;
    return arm;
  }

  toSnapshot(): ArmStateSnapshot {
    return {
      requests: this.requests,
      errors: this.errors,
      latency: this.latency.toSnapshot(),
      coarseLatency: this.coarseLatency.toSnapshot(),
      latencySumNanos: this.latencySumNanos,
      latencyValuesWithoutSum: this.latencyValuesWithoutSum,
      exemplars: this.exemplars.toSnapshot(),
    };
  }

  static fromSnapshot(s: ArmStateSnapshot): ArmState {
    const latency = LatencyHistogram.fromSnapshot(s.latency);
    const coarse = s.coarseLatency ? CoarseLatency.fromSnapshot(s.coarseLatency) : new CoarseLatency();
    const arm = new ArmState(latency, coarse, TraceExemplars.fromSnapshot(s.exemplars));
    arm.requests = s.requests;
    arm.errors = s.errors;
    // An old snapshot has no sum: its latencies cannot join a mean comparison.
    arm.latencySumNanos = s.latencySumNanos ?? 0;
    arm.latencyValuesWithoutSum =
      s.latencyValuesWithoutSum ?? (s.latencySumNanos === undefined ? latency.count : 0);
    return arm;
  }
}
