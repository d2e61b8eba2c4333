// A read-only view of a latency histogram for rank look-ups in O(log buckets): cumulative counts and bucket
// edges. Built once per evaluation, so bisection over confidence levels does not rescan the histogram.
import type { LatencyHistogram } from '../accumulate/latency-histogram.js';

export interface RankedBuckets {
  n: number;
  /** cumulative[i] = number of values in buckets 0..i. */
  cumulative: number[];
  lowerNanos: number[];
  upperNanos: number[];
}

export function rankedBuckets(h: LatencyHistogram): RankedBuckets {
  const out: RankedBuckets = { n: 0, cumulative: [], lowerNanos: [], upperNanos: [] };
  for (const b of h.buckets()) {
    out.n += b.count;
    out.cumulative.push(out.n);
    out.lowerNanos.push(b.lowerNanos);
    out.upperNanos.push(b.upperNanos);
  }
  return out;
}

/** Position of the bucket holding the value of 1-based `rank` (1 <= rank <= n). */
export function bucketPositionOfRank(r: RankedBuckets, rank: number): number {
  let lo = 0;
  let hi = r.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (r.cumulative[mid] >= rank) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
