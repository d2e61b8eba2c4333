// Latency histograms in nanoseconds whatever the metric's unit (UCUM codes the semantic conventions use:
// `s` for http.server.request.duration, also `ms`, `us`, `ns`), so spans and points land in the same
// accumulator scale.
//
// Explicit bounds are multiplied. An exponential histogram in `ns` passes unchanged; in any other unit
// it cannot be rescaled exactly (bucket bounds are powers of 2^(2^-scale), and 1e9 is not one), so it
// becomes explicit buckets with the exact same boundaries expressed in nanoseconds; nothing is lost.
import type { ExplicitBuckets, ExponentialBuckets } from '../otlp/model.js';
import { MAX_LATENCY_NANOS } from '../otlp/model.js';

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  s: 1e9,
  ms: 1e6,
  us: 1e3,
  μs: 1e3,
  ns: 1,
};

/**
 * Nanoseconds per unit, or undefined when the unit is not a time unit. An own key only: the unit is the
 * sender's text, and `constructor` or `__proto__` would find Object.prototype's members.
 */
export function nanosPerUnit(unit: string): number | undefined {
  return Object.hasOwn(NANOS_PER_UNIT, unit) ? NANOS_PER_UNIT[unit] : undefined;
}

/** `0.005 * 1e9` is 5000000.000000001: bounds above 1 ns are rounded to whole nanoseconds. */
function toNanos(value: number, factor: number): number {
  const nanos = value * factor;
  return factor === 1 || Math.abs(nanos) < 1 ? nanos : Math.round(nanos);
}

export function explicitToNanos(buckets: ExplicitBuckets, factor: number): ExplicitBuckets {
  if (factor === 1) return buckets;
  return { bounds: buckets.bounds.map((b) => toNanos(b, factor)), bucketCounts: buckets.bucketCounts };
}

/**
 * Exponential buckets as explicit ones, scaled by `factor`. Bucket index i covers (base^i, base^(i+1)]
 * with base = 2^(2^-scale), as explicit buckets cover (bound[i-1], bound[i]]. Zero and negative
 * counts (latencies are never negative) go to the first bucket, bounded by the zero threshold.
 */
export function exponentialToExplicitNanos(buckets: ExponentialBuckets, factor: number): ExplicitBuckets {
  const base = Math.pow(2, Math.pow(2, -buckets.scale));
  const low = buckets.negative.bucketCounts.reduce((a, b) => a + b, 0) + buckets.zeroCount;
  const { offset, bucketCounts } = buckets.positive;
  const bounds: number[] = [toNanos(buckets.zeroThreshold, factor)];
  const counts: number[] = [low];
  if (bucketCounts.length > 0) {
    const lowest = toNanos(Math.pow(base, offset), factor);
    if (lowest > bounds[0]) {
      bounds.push(lowest);
      counts.push(0);
    }
    bucketCounts.forEach((count, i) => {
      bounds.push(toNanos(Math.pow(base, offset + i + 1), factor));
      counts.push(count);
    });
  }
  counts.push(0);
  return { bounds, bucketCounts: counts };
}

export interface NanosHistogram {
  explicit?: ExplicitBuckets;
  exponential?: ExponentialBuckets;
}

/** The histogram in nanoseconds, or undefined when its unit is not a time unit. */
export function histogramInNanos(
  unit: string,
  explicit: ExplicitBuckets | undefined,
  exponential: ExponentialBuckets | undefined,
): NanosHistogram | undefined {
  const factor = nanosPerUnit(unit);
  if (factor === undefined) return undefined;
  if (explicit) return { explicit: explicitToNanos(explicit, factor) };
  if (exponential)
    return factor === 1 ? { exponential } : { explicit: exponentialToExplicitNanos(exponential, factor) };
  return {};
}

/**
 * True when a histogram in nanoseconds reaches past the accumulator's range (MAX_LATENCY_NANOS): an
 * explicit bound above it, or an exponential bucket whose upper boundary is. Such a point is ignored with
 * reason `out_of_range` rather than clamped, because its buckets would no longer mean what they say.
 */
export function outOfLatencyRange(histogram: NanosHistogram): boolean {
  const { explicit, exponential } = histogram;
  if (explicit) return explicit.bounds.some((bound) => !(Math.abs(bound) <= MAX_LATENCY_NANOS));
  if (exponential && exponential.positive.bucketCounts.length > 0) {
    const end = exponential.positive.offset + exponential.positive.bucketCounts.length;
    return !(end * 2 ** -exponential.scale <= Math.log2(MAX_LATENCY_NANOS));
  }
  return false;
}
