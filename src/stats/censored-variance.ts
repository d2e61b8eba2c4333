// The largest variance a bucketed sample can have, given each value's interval and the exact sum of all of
// them (OTLP histogram points carry `sum` and `count` exactly; only the placement inside buckets is unknown).
//
// max sum x_i^2 subject to l_i <= x_i <= u_i and sum x_i = S is a convex maximisation over a box cut by a
// hyperplane, attained at a vertex: every value at an edge but at most one. Write x_i = l_i + delta_i with
// slack R = S - sum l_i = sum delta_i; filling value i to its top adds u_i^2 - l_i^2 = (u_i + l_i)(u_i - l_i),
// and a partial fill delta adds 2 l_i delta + delta^2 <= (u_i + l_i) delta. So
//   sum x^2 <= sum l_i^2 + G(R),   G(R) = max sum (u_i + l_i) delta_i  s.t.  sum delta_i = R, 0 <= delta_i <= u_i - l_i,
// a fractional knapsack solved greedily by decreasing u_i + l_i (highest buckets first). For non-overlapping
// buckets this is the exact maximum up to the one partly filled value; for overlapping ones (the accumulator's
// fine buckets beside coarse ones) it is still an upper bound.
//
// The open last bucket (b_last, +inf) has no upper edge (unless the point's max closed it, coarse-latency.ts):
// its values are bounded only through the sum. Concentrating all slack on one of them is then the worst case
// among its placements, adding 2 l R + R^2; with finite buckets beside it, the bound takes the larger of that
// and c_max R (c_max = the largest finite u + l), which covers every split of R between them because the
// objective is convex in the split. Valid, but wide: R is the total distance of all values above their lower
// edges, so a non-empty open bucket makes the variance bound, and the mean comparison, very conservative.
// An empty one costs nothing. OTel SDKs report max by default, which closes it.
import type { LatencyInterval } from './ranked-buckets.js';

export interface VarianceBound {
  /** Upper bound on sum x_i^2 over every placement consistent with the intervals and the sum. */
  maxSumOfSquares: number;
  /** Upper bound on the sample variance (n - 1 denominator); NaN for fewer than 2 values. */
  variance: number;
  /** Values in buckets with no upper edge. */
  openValues: number;
  /** The sum lies outside [sum of lower edges, sum of upper edges]: inconsistent input (bound still computed). */
  inconsistent: boolean;
}

export function censoredVarianceBound(intervals: readonly LatencyInterval[], sum: number): VarianceBound {
  let n = 0;
  let lowerSum = 0;
  let upperSum = 0;
  let base = 0;
  let openValues = 0;
  let openLower = 0;
  const finite: { slope: number; capacity: number }[] = [];
  for (const i of intervals) {
    if (!(i.count > 0)) continue;
    n += i.count;
    lowerSum += i.count * i.lowerNanos;
    upperSum += i.count * i.upperNanos;
    base += i.count * i.lowerNanos * i.lowerNanos;
    if (i.upperNanos === Infinity) {
      openValues += i.count;
      openLower = Math.max(openLower, i.lowerNanos);
    } else if (i.upperNanos > i.lowerNanos) {
      finite.push({ slope: i.upperNanos + i.lowerNanos, capacity: i.count * (i.upperNanos - i.lowerNanos) });
    }
  }
  const inconsistent = sum < lowerSum * (1 - 1e-12) || sum > upperSum * (1 + 1e-12);
  const slack = Math.max(0, sum - lowerSum);
  finite.sort((a, b) => b.slope - a.slope);
  let left = slack;
  let gain = 0;
  for (const f of finite) {
    if (left <= 0) break;
    const used = Math.min(left, f.capacity);
    gain += f.slope * used;
    left -= used;
  }
  if (openValues > 0) {
    const maxSlope = finite.length > 0 ? finite[0].slope : 0;
    gain = Math.max(maxSlope * slack, slack * slack + 2 * openLower * slack);
  }
  const maxSumOfSquares = base + gain;
  const variance = n >= 2 ? Math.max(0, (maxSumOfSquares - (sum * sum) / n) / (n - 1)) : NaN;
  return { maxSumOfSquares, variance, openValues, inconsistent };
}
