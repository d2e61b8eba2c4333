// Rank look-ups on interval-censored latencies in O(log buckets). Every latency is known only to lie in an
// interval: a bucket of the accumulator's histogram (0.54% wide), or a coarser bucket of an explicit or
// low-scale exponential histogram point (accumulate/coarse-latency.ts); the intervals of different sources may
// overlap. For any placement of the values inside their intervals, the k-th smallest value X_(k) lies
// between the k-th smallest lower edge L_(k) and the k-th smallest upper edge U_(k): at least k values have
// an upper edge <= U_(k) and each is at most its upper edge, so X_(k) <= U_(k); at least n - k + 1 values have
// a lower edge >= L_(k) and each is at least its lower edge, so X_(k) >= L_(k). Likewise for counts:
//   #{X <= y} <= #{L <= y}        #{X < y} >= #{U < y}
// which is what the quantile confidence sequences, the two-sample test and the order-statistic intervals use.
// For non-overlapping buckets (the histogram alone) both views are the buckets themselves. An interval's lower
// edge excludes its values (values lie in (lower, upper]) except at 0, where it includes them.
import type { LatencyHistogram } from '../accumulate/latency-histogram.js';

/** Doubles read by index: an array, or a view of a buffer reused between evaluations (evaluation-buffers.ts). */
export type Doubles = ArrayLike<number>;

/** Distinct edges ascending, with cumulative[i] = number of values whose edge is <= edges[i]. */
export interface EdgeRanks<A extends Doubles = Doubles> {
  edges: A;
  cumulative: A;
}

export interface RankedBuckets<A extends Doubles = Doubles> {
  n: number;
  /** Lower edges: cumulative[i] = values whose interval starts at or below edges[i]. */
  lower: EdgeRanks<A>;
  /** Upper edges: cumulative[j] = values whose interval ends at or below edges[j]. */
  upper: EdgeRanks<A>;
}

/** One interval of values: [lowerNanos, upperNanos] (lower excluded unless 0), `count` values. */
export interface LatencyInterval {
  lowerNanos: number;
  upperNanos: number;
  count: number;
}

function edgeRanks(
  intervals: readonly LatencyInterval[],
  edge: (i: LatencyInterval) => number,
): EdgeRanks<number[]> {
  const sorted = intervals.slice().sort((a, b) => edge(a) - edge(b));
  const out: EdgeRanks<number[]> = { edges: [], cumulative: [] };
  let n = 0;
  for (const interval of sorted) {
    n += interval.count;
    const e = edge(interval);
    const last = out.edges.length - 1;
    if (last >= 0 && out.edges[last] === e) out.cumulative[last] = n;
    else {
      out.edges.push(e);
      out.cumulative.push(n);
    }
  }
  return out;
}

/** Ranks of possibly overlapping intervals (each view sorted on its own edge). */
export function rankedIntervals(intervals: readonly LatencyInterval[]): RankedBuckets<number[]> {
  let n = 0;
  for (const i of intervals) n += i.count;
  return {
    n,
    lower: edgeRanks(intervals, (i) => i.lowerNanos),
    upper: edgeRanks(intervals, (i) => i.upperNanos),
  };
}

/** Ranks of a histogram alone: its buckets do not overlap, so both views share one pass. */
export function rankedBuckets(h: LatencyHistogram): RankedBuckets<number[]> {
  const out: RankedBuckets<number[]> = {
    n: 0,
    lower: { edges: [], cumulative: [] },
    upper: { edges: [], cumulative: [] },
  };
  for (const b of h.buckets()) {
    out.n += b.count;
    out.lower.edges.push(b.lowerNanos);
    out.upper.edges.push(b.upperNanos);
    out.lower.cumulative.push(out.n);
    out.upper.cumulative.push(out.n);
  }
  // The zero bucket [0, 0] and a first bucket starting at 0 share lower edge 0: merge them.
  mergeEqualEdges(out.lower);
  mergeEqualEdges(out.upper);
  return out;
}

function mergeEqualEdges(r: EdgeRanks<number[]>): void {
  for (let i = r.edges.length - 1; i > 0; i--) {
    if (r.edges[i] === r.edges[i - 1]) {
      r.edges.splice(i - 1, 1);
      r.cumulative.splice(i - 1, 1);
    }
  }
}

/** Position of the edge holding the value of 1-based `rank` (1 <= rank <= n). */
export function edgePositionOfRank(r: EdgeRanks, rank: number): number {
  let lo = 0;
  let hi = r.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (r.cumulative[mid] >= rank) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** L_(rank): the rank-th smallest lower edge, a lower bound on the rank-th smallest value (0 for rank < 1). */
export function lowerEdgeOfRank(r: RankedBuckets, rank: number): number {
  return rank >= 1 ? r.lower.edges[edgePositionOfRank(r.lower, rank)] : 0;
}

/** U_(rank): the rank-th smallest upper edge, an upper bound on the rank-th smallest value (Infinity past n). */
export function upperEdgeOfRank(r: RankedBuckets, rank: number): number {
  return rank <= r.n ? r.upper.edges[edgePositionOfRank(r.upper, Math.max(1, rank))] : Infinity;
}
