// Consistency rules of metrics.proto for histogram points, shared by the protobuf and JSON decoders. A
// point that breaks one is rejected (OTLP partial success), never passed on: the accumulator merges
// buckets and would silently mis-count them.
import type { ExponentialBuckets } from '../model.js';

/** ExponentialHistogramDataPoint.scale bounds (metrics.proto: "scale ... in the range [-10, 20]"). */
export const MIN_EXPONENTIAL_SCALE = -10;
export const MAX_EXPONENTIAL_SCALE = 20;

/** Why an explicit-bucket histogram point is unusable, or ''. Shared with the JSON decoder. */
export function checkHistogram(count: number, bounds: number[], bucketCounts: number[]): string {
  if (bucketCounts.length === 0) return '';
  if (bucketCounts.length !== bounds.length + 1) {
    return `bucket_counts has ${bucketCounts.length} entries, explicit_bounds ${bounds.length} (expected bounds + 1)`;
  }
  for (let i = 0; i < bounds.length; i++) {
    if (Number.isNaN(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return 'explicit_bounds are not strictly increasing';
    }
  }
  let total = 0;
  for (const c of bucketCounts) total += c;
  if (total !== count) return `bucket_counts add up to ${total}, count is ${count}`;
  return '';
}

/** Why an exponential histogram point is unusable, or ''. Shared with the JSON decoder. */
export function checkExponential(count: number, buckets: ExponentialBuckets): string {
  if (buckets.scale < MIN_EXPONENTIAL_SCALE || buckets.scale > MAX_EXPONENTIAL_SCALE) {
    return `scale ${buckets.scale} outside [${MIN_EXPONENTIAL_SCALE}, ${MAX_EXPONENTIAL_SCALE}]`;
  }
  let total = buckets.zeroCount;
  for (const c of buckets.positive.bucketCounts) total += c;
  for (const c of buckets.negative.bucketCounts) total += c;
  return total === count ? '' : `buckets and zero_count add up to ${total}, count is ${count}`;
}
