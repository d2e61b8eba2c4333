// Distribution-free confidence interval for a quantile from order statistics (David & Nagaraja, Order
// Statistics, 3rd ed., 7.1): with B ~ Binomial(n, q), P(X_(l) <= Q(q) <= X_(u)) >= 1 - alpha for
//   l = qbinom(alpha/2, n, q)   (0 means no lower bound: -infinity),
//   u = qbinom(1 - alpha/2, n, q) + 1   (n + 1 means no upper bound: +infinity),
// because X_(l) <= Q(q) whenever B >= l and X_(u) >= Q(q) whenever B <= u - 1; valid for any distribution,
// ties included. On bucketed data the bounds are taken at the outer edges of those order statistics (the
// lower edge of rank l, the upper edge of rank u, each ranked on its own: ranked-buckets.ts), which keeps the
// coverage for every placement of the values inside their buckets.
import type { ArmLatency } from './arm-latency.js';
import { binomialQuantiles } from './binomial-distribution.js';
import { lowerEdgeOfRank, upperEdgeOfRank } from './ranked-buckets.js';

export interface OrderStatisticRanks {
  /** 1-based rank of the lower bound, or 0 when there is none. */
  lowerRank: number;
  /** 1-based rank of the upper bound, or n + 1 when there is none. */
  upperRank: number;
}

export function orderStatisticRanks(n: number, q: number, confidence = 0.95): OrderStatisticRanks {
  const alpha = 1 - confidence;
  const [lower, upper] = binomialQuantiles([alpha / 2, 1 - alpha / 2], n, q);
  return { lowerRank: lower, upperRank: Math.min(n + 1, upper + 1) };
}

export interface QuantileInterval {
  quantile: number;
  estimateNanos: number;
  lowerNanos: number;
  upperNanos: number;
  confidence: number;
}

/**
 * Interval for the q-quantile of one arm's latencies, at the outer bucket edges of the order statistics
 * (ranked-buckets.ts: valid for every placement inside the buckets); NaN estimate and [0, Infinity] when empty.
 */
export function quantileConfidenceInterval(
  latency: ArmLatency,
  q: number,
  confidence = 0.95,
): QuantileInterval {
  const { n } = latency;
  if (n === 0) return { quantile: q, estimateNanos: NaN, lowerNanos: 0, upperNanos: Infinity, confidence };
  const { lowerRank, upperRank } = orderStatisticRanks(n, q, confidence);
  return {
    quantile: q,
    estimateNanos: latency.quantileEstimate(q),
    lowerNanos: lowerEdgeOfRank(latency.ranks, lowerRank),
    upperNanos: upperEdgeOfRank(latency.ranks, upperRank),
    confidence,
  };
}
