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

/** Bucket index of a positive finite value at `scale`. */
export function indexForValue(value: number, scale: number): number {
  const exponent = Math.log2(value);
  if (Number.isInteger(exponent)) {
    // value = 2^exponent exactly: it is the upper (inclusive) bound of bucket (exponent << scale) - 1.
    return scale >= 0 ? exponent * 2 ** scale - 1 : Math.floor((exponent - 1) / 2 ** -scale);
  }
  if (scale > 0) return Math.ceil(exponent * 2 ** scale) - 1;
  // Scale <= 0: the scale-0 index is floor(log2 v) for non-powers of two; downscale by shifting.
  return Math.floor(Math.floor(exponent) / 2 ** -scale);
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
