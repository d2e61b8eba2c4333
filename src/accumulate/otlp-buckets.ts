// Ingestion of OTLP histogram data points (already delta, bucket bounds already in nanoseconds; see
// HistogramObservation) into one arm's latency stores: exponential buckets at or finer than the
// accumulator's scale go to its LatencyHistogram, everything coarser to CoarseLatency (interval-censored).
import type { ExplicitBuckets, ExponentialBuckets } from '../otlp/model.js';
import type { CoarseLatency } from './coarse-latency.js';
import { lowerBoundary, MAX_SCALE, MIN_SCALE } from './exponential-mapping.js';
import type { LatencyHistogram } from './latency-histogram.js';

/** The point's min and max (ns) when the sender reported them: they tighten the outer buckets. */
export interface PointRange {
  minNanos?: number;
  maxNanos?: number;
}

/**
 * Exponential points at the histogram's scale or finer land bucket for bucket (downscaled to the
 * histogram's scale), so nothing is lost beyond the accumulator's own 0.54%. Coarser points are
 * interval-censored: each bucket (base^i, base^(i+1)] goes to `coarse` with its edges, instead of
 * downscaling the whole histogram (which would also coarsen every span recorded before and after).
 * Negative buckets cannot hold durations; their counts go to the zero bucket so the request total stays right.
 * Returns the number of latency values recorded.
 */
export function recordExponentialBuckets(
  histogram: LatencyHistogram,
  coarse: CoarseLatency,
  point: ExponentialBuckets,
  range: PointRange = {},
): number {
  // Input validation (the decoder already refuses such points; this keeps the accumulator safe on its own).
  if (!(Number.isInteger(point.scale) && point.scale >= MIN_SCALE && point.scale <= MAX_SCALE)) return 0;
  if (!(point.zeroThreshold >= 0 && point.zeroThreshold <= Number.MAX_VALUE)) return 0;
  const negatives = point.negative.bucketCounts.reduce((a, b) => a + b, 0);
  histogram.recordZeros(point.zeroCount + negatives, point.zeroThreshold);
  let recorded = point.zeroCount + negatives;
  const { offset, bucketCounts } = point.positive;
  const fine = point.scale >= histogram.scale;
  for (let i = 0; i < bucketCounts.length; i++) {
    const count = bucketCounts[i];
    if (!(count > 0)) continue;
    recorded += count;
    if (fine) histogram.recordBucket(offset + i, point.scale, count);
    else {
      coarse.record(
        lowerBoundary(offset + i, point.scale),
        lowerBoundary(offset + i + 1, point.scale),
        count,
        range.minNanos,
        range.maxNanos,
      );
    }
  }
  return recorded;
}

/**
 * An explicit bucket (b[i-1], b[i]] only says its values lie in that range: each bucket's count goes to
 * `coarse` with its edges. The first bucket (-inf, b0] is [0, b0] (durations are not negative), the overflow
 * bucket (b_last, +inf) stays open unless the point's max closes it; a point without bounds is one bucket
 * [0, +inf). Buckets entirely at or below 0 hold zero durations. Returns the number of values recorded.
 */
export function recordExplicitBuckets(
  histogram: LatencyHistogram,
  coarse: CoarseLatency,
  point: ExplicitBuckets,
  range: PointRange = {},
): number {
  const { bounds, bucketCounts } = point;
  // Input validation, as above: bounds finite and strictly increasing, one more count than bounds.
  if (bucketCounts.length !== bounds.length + 1 && bounds.length > 0) return 0;
  for (let i = 0; i < bounds.length; i++) {
    if (!Number.isFinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) return 0;
  }
  let recorded = 0;
  for (let i = 0; i < bucketCounts.length; i++) {
    const count = bucketCounts[i];
    if (!(count > 0)) continue;
    recorded += count;
    const lower = i === 0 ? 0 : bounds[i - 1];
    const upper = i < bounds.length ? bounds[i] : Infinity;
    if (upper <= 0) histogram.recordZeros(count);
    else coarse.record(lower, upper, count, range.minNanos, range.maxNanos);
  }
  return recorded;
}
