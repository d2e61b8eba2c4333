// Consistency and range rules for histogram points, shared by the protobuf and JSON decoders. A point that
// breaks one is rejected (OTLP partial success), never passed on: the accumulator merges buckets and would
// silently mis-count them, and the statistics must never see a count or a bound they cannot represent.
//
// Ranges (documented in the README, "Operations"):
// - counts (count, bucket_counts, zero_count and their total): whole numbers up to 2^53 - 1, the largest a
//   double holds exactly; a uint64 above that would be rounded and no longer add up;
// - explicit_bounds: finite (no NaN or +/-Inf; the overflow bucket is implicit), strictly increasing;
// - exponential: scale in [-10, 20] (metrics.proto), zero_threshold finite and >= 0, and every bucket's
//   boundaries finite doubles: |index| <= 1022 * 2^scale, so that 2^(index / 2^scale) stays within the
//   normal doubles on both sides. Latency ranges in nanoseconds are checked later, once the unit is known
//   (src/attribution/histogram-units.ts).
import type { ExponentialBuckets } from '../model.js';

/** ExponentialHistogramDataPoint.scale bounds (metrics.proto: "scale ... in the range [-10, 20]"). */
export const MIN_EXPONENTIAL_SCALE = -10;
export const MAX_EXPONENTIAL_SCALE = 20;
/** Largest count, bucket count or total a point may carry: 2^53 - 1. */
export const MAX_POINT_COUNT = Number.MAX_SAFE_INTEGER;
/** Largest |index| / 2^scale of an exponential bucket: its boundaries stay finite doubles. */
export const MAX_EXPONENTIAL_OCTAVE = 1022;

function countProblem(name: string, value: number): string {
  return Number.isSafeInteger(value) && value >= 0
    ? ''
    : `${name} ${value} is not a whole number from 0 to 2^53 - 1`;
}

/** The sum of `counts` (and `start`), or the first problem with one of them or with the total. */
function totalOf(name: string, counts: number[], start: number): number | string {
  let total = start;
  for (let i = 0; i < counts.length; i++) {
    const problem = countProblem(`${name}[${i}]`, counts[i]);
    if (problem !== '') return problem;
    total += counts[i];
    if (total > MAX_POINT_COUNT) return `${name} add up to more than 2^53 - 1`;
  }
  return total;
}

/** Why an explicit-bucket histogram point is unusable, or ''. Shared with the JSON decoder. */
export function checkHistogram(count: number, bounds: number[], bucketCounts: number[]): string {
  const countIssue = countProblem('count', count);
  if (countIssue !== '') return countIssue;
  if (bucketCounts.length === 0) return '';
  if (bucketCounts.length !== bounds.length + 1) {
    return `bucket_counts has ${bucketCounts.length} entries, explicit_bounds ${bounds.length} (expected bounds + 1)`;
  }
  for (let i = 0; i < bounds.length; i++) {
    if (Number.isNaN(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return 'explicit_bounds are not strictly increasing';
    }
    if (!Number.isFinite(bounds[i])) {
      return `explicit_bounds[${i}] is ${bounds[i]}; bounds must be finite (the overflow bucket is implicit)`;
    }
  }
  const total = totalOf('bucket_counts', bucketCounts, 0);
  if (typeof total === 'string') return total;
  if (total !== count) return `bucket_counts add up to ${total}, count is ${count}`;
  return '';
}

function bucketRangeProblem(name: string, buckets: ExponentialBuckets['positive'], scale: number): string {
  if (buckets.bucketCounts.length === 0) return '';
  const limit = MAX_EXPONENTIAL_OCTAVE * 2 ** scale;
  const first = buckets.offset;
  const last = buckets.offset + buckets.bucketCounts.length;
  if (Math.abs(first) <= limit && Math.abs(last) <= limit) return '';
  return `${name} bucket indexes ${first}..${last - 1} at scale ${scale} reach beyond the finite range (|index| <= ${limit})`;
}

/** Why an exponential histogram point is unusable, or ''. Shared with the JSON decoder. */
export function checkExponential(count: number, buckets: ExponentialBuckets): string {
  if (buckets.scale < MIN_EXPONENTIAL_SCALE || buckets.scale > MAX_EXPONENTIAL_SCALE) {
    return `scale ${buckets.scale} outside [${MIN_EXPONENTIAL_SCALE}, ${MAX_EXPONENTIAL_SCALE}]`;
  }
  if (!(Number.isFinite(buckets.zeroThreshold) && buckets.zeroThreshold >= 0)) {
    return `zero_threshold ${buckets.zeroThreshold} is not a finite number >= 0`;
  }
  const problem =
    countProblem('count', count) ||
    countProblem('zero_count', buckets.zeroCount) ||
    bucketRangeProblem('positive', buckets.positive, buckets.scale) ||
    bucketRangeProblem('negative', buckets.negative, buckets.scale);
  if (problem !== '') return problem;
  const positive = totalOf('positive.bucket_counts', buckets.positive.bucketCounts, buckets.zeroCount);
  if (typeof positive === 'string') return positive;
  const total = totalOf('negative.bucket_counts', buckets.negative.bucketCounts, positive);
  if (typeof total === 'string') return total;
  return total === count ? '' : `buckets and zero_count add up to ${total}, count is ${count}`;
}
