// Ingestion of OTLP histogram data points (already delta, bucket bounds already in nanoseconds; see
// HistogramObservation) into a LatencyHistogram.
import type { ExplicitBuckets, ExponentialBuckets } from '../otlp/model.js';
import { MAX_SCALE, MIN_SCALE } from './exponential-mapping.js';
import type { LatencyHistogram } from './latency-histogram.js';

/**
 * Exponential points land bucket for bucket (downscaling whichever side is finer), so no precision is lost
 * beyond the coarser of the two scales. Negative buckets cannot hold durations; their counts go to the zero
 * bucket so the request total stays right.
 */
export function recordExponentialBuckets(histogram: LatencyHistogram, point: ExponentialBuckets): void {
  // Input validation (the decoder already refuses such points; this keeps the accumulator safe on its own).
  if (!(Number.isInteger(point.scale) && point.scale >= MIN_SCALE && point.scale <= MAX_SCALE)) return;
  if (!(point.zeroThreshold >= 0 && point.zeroThreshold <= Number.MAX_VALUE)) return;
  const negatives = point.negative.bucketCounts.reduce((a, b) => a + b, 0);
  histogram.recordZeros(point.zeroCount + negatives, point.zeroThreshold);
  const { offset, bucketCounts } = point.positive;
  for (let i = 0; i < bucketCounts.length; i++) {
    if (bucketCounts[i] > 0) histogram.recordBucket(offset + i, point.scale, bucketCounts[i]);
  }
}

/**
 * An explicit bucket (lower, upper] only says its values lie in that range, so each bucket's count is
 * recorded at one point: the geometric midpoint sqrt(lower*upper) for an interior bucket, the upper bound
 * for the first bucket (-inf, b0] and the lower bound for the overflow bucket (b_last, +inf). Quantiles from
 * explicit points are therefore only as precise as the sender's bounds; the 1% guarantee needs exponential
 * points or spans.
 */
export function recordExplicitBuckets(histogram: LatencyHistogram, point: ExplicitBuckets): void {
  const { bounds, bucketCounts } = point;
  // Input validation, as above: bounds finite and strictly increasing, one more count than bounds.
  if (bucketCounts.length !== bounds.length + 1 && bounds.length > 0) return;
  for (let i = 0; i < bounds.length; i++) {
    if (!Number.isFinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) return;
  }
  for (let i = 0; i < bucketCounts.length; i++) {
    const count = bucketCounts[i];
    if (!(count > 0)) continue;
    if (bounds.length === 0) {
      histogram.recordZeros(count);
      continue;
    }
    let value: number;
    if (i === 0) value = bounds[0];
    else if (i >= bounds.length) value = bounds[bounds.length - 1];
    else value = bounds[i - 1] > 0 ? Math.sqrt(bounds[i - 1] * bounds[i]) : bounds[i];
    histogram.record(value, count);
  }
}
