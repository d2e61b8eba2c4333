// The OTLP exponential-histogram mapping (opentelemetry-proto metrics.proto, ExponentialHistogramDataPoint;
// OTel spec "Exponential Buckets" data-model section): base = 2^(2^-scale), bucket `index` holds values in
// (base^index, base^(index+1)], so index = ceil(log2(v) * 2^scale) - 1.
//
// Math.log2 is not exact near bucket boundaries; the spec allows a value within one ulp of a boundary to land
// in either neighbour, and nothing here depends on which, because merges and downscales work on indexes only.
// Exact powers of two are special-cased (as the spec recommends) so that 2^k always lands in the bucket it
// closes, at every scale.

/** Smallest and largest scales the OTLP spec allows. */
export const MIN_SCALE = -10;
export const MAX_SCALE = 20;

/**
 * 2^k for the integers k in [-MAX_SCALE, MAX_SCALE], made once by `2 ** k` (every one exact): indexForValue runs
 * for every judged span, and `2 ** scale` with a variable scale is a call to V8's ieee754 pow each time (~3% of
 * the sidecar's CPU with one analysis, perf, issue 13). The table gives the same doubles.
 */
const POWERS_OF_TWO = Float64Array.from({ length: 2 * MAX_SCALE + 1 }, (_, i) => 2 ** (i - MAX_SCALE));

/** 2^k: from the table for an integer k within it, else computed. */
function twoTo(k: number): number {
  const slot = k + MAX_SCALE;
  return slot >= 0 && slot < POWERS_OF_TWO.length && Number.isInteger(k) ? POWERS_OF_TWO[slot] : 2 ** k;
}

/** Bucket index of a positive finite value at `scale`. */
export function indexForValue(value: number, scale: number): number {
  const exponent = Math.log2(value);
  if (Number.isInteger(exponent)) {
    // value = 2^exponent exactly: it is the upper (inclusive) bound of bucket (exponent << scale) - 1.
    return scale >= 0 ? exponent * twoTo(scale) - 1 : Math.floor((exponent - 1) / twoTo(-scale));
  }
  if (scale > 0) return Math.ceil(exponent * twoTo(scale)) - 1;
  // Scale <= 0: the scale-0 index is floor(log2 v) for non-powers of two; downscale by shifting.
  return Math.floor(Math.floor(exponent) / twoTo(-scale));
}

// Boundaries at the default scale are computed once: rank tests and quantile bounds read them for every
// bucket on every evaluation, and Math.pow dominated their cost.
const CACHED_SCALE = 6;
const CACHE_FIRST_INDEX = -64 * 64;
const boundaryCache = new Float64Array(64 * 128).fill(NaN);

/** Lower (exclusive) bound of bucket `index` at `scale`. */
export function lowerBoundary(index: number, scale: number): number {
  if (scale === CACHED_SCALE) {
    const slot = index - CACHE_FIRST_INDEX;
    if (slot >= 0 && slot < boundaryCache.length) {
      const cached = boundaryCache[slot];
      if (cached === cached) return cached;
      return (boundaryCache[slot] = 2 ** (index * 2 ** -scale));
    }
  }
  return 2 ** (index * 2 ** -scale);
}

/** Index of the bucket at `scale - shift` that contains bucket `index` at `scale` (an arithmetic shift). */
export function downscaleIndex(index: number, shift: number): number {
  return Math.floor(index / 2 ** shift);
}

/**
 * The value that minimises the worst-case relative error for any value in (lo, hi]:
 * 2*lo*hi/(lo+hi), whose relative error is at most (base-1)/(base+1) (0.54% at scale 6).
 */
export function bucketRepresentative(index: number, scale: number): number {
  const lo = lowerBoundary(index, scale);
  const hi = lowerBoundary(index + 1, scale);
  return (2 * lo * hi) / (lo + hi);
}
