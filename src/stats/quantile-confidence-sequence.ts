// Confidence sequence for one quantile of one arm (Howard & Ramdas, "Sequential estimation of quantiles with
// applications to A/B-testing and best-arm identification", Bernoulli 2022, Theorem 1 with the beta-binomial
// mixture boundary). Write X_i = Q(U_i) with U_i uniform; B_t = #{U_i <= q} ~ Binomial(t, q), and
//   M_t(k) = B(a + k, b + t - k) / (B(a, b) q^k (1 - q)^(t - k)),  a = c q, b = c (1 - q),
// evaluated at k = B_t is a nonnegative martingale, so by Ville's inequality B_t stays, for all t at once with
// probability >= 1 - alpha, in the acceptance set [kLow, kHigh] = {k : M_t(k) < 1/alpha}. Then
//   X_(kLow) <= Q(q) <= X_(kHigh + 1)
// for all t, for any distribution (atoms and ties included). On a histogram the bounds are taken at the outer
// bucket edges of those order statistics, which keeps the guarantee. The bound depends only on (t, counts),
// never on how often it is evaluated.
//
// The prior concentration c tunes where the boundary is tightest: c + 1 = t* / (2 log(1/alpha) +
// log(1 + 2 log(1/alpha))) makes it near-optimal at t* samples (Howard et al. 2021, eq. 15 with intrinsic
// time t q(1-q)); it must be fixed before the data, so it comes from the configuration, not from n.
import { logBeta } from './log-gamma.js';
import { bucketPositionOfRank, type RankedBuckets } from './ranked-buckets.js';

export function betaBinomialConcentration(tunedForSamples: number, alpha: number): number {
  const l = 2 * Math.log(1 / alpha);
  return Math.max(1, tunedForSamples / (l + Math.log1p(l)) - 1);
}

/** log M_t(k) of the beta-binomial mixture. */
export function logBetaBinomialMixture(k: number, t: number, q: number, concentration: number): number {
  const a = concentration * q;
  const b = concentration * (1 - q);
  return logBeta(a + k, b + t - k) - logBeta(a, b) - k * Math.log(q) - (t - k) * Math.log1p(-q);
}

export interface RankBounds {
  /** Smallest accepted count (0: no lower bound). */
  kLow: number;
  /** Largest accepted count (t: no upper bound). */
  kHigh: number;
}

export function acceptedCounts(t: number, q: number, alpha: number, concentration: number): RankBounds {
  if (t === 0) return { kLow: 0, kHigh: 0 };
  const threshold = Math.log(1 / alpha);
  const accepted = (k: number): boolean => logBetaBinomialMixture(k, t, q, concentration) < threshold;
  const centre = Math.min(t, Math.max(0, Math.round(t * q)));
  if (!accepted(centre)) return { kLow: centre, kHigh: centre }; // cannot happen for alpha < 1; kept total
  // log M is convex in k with its minimum near t q, so each side is a binary search.
  let lo = 0;
  let hi = centre;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (accepted(mid)) hi = mid;
    else lo = mid + 1;
  }
  const kLow = lo;
  lo = centre;
  hi = t;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (accepted(mid)) lo = mid;
    else hi = mid - 1;
  }
  return { kLow, kHigh: lo };
}

export interface QuantileBounds {
  lowerNanos: number;
  upperNanos: number;
}

/** Bounds on Q(q) valid uniformly over time at level alpha; [0, Infinity] when the data cannot bound it yet. */
export function quantileConfidenceSequence(
  r: RankedBuckets,
  q: number,
  alpha: number,
  concentration: number,
): QuantileBounds {
  if (r.n === 0) return { lowerNanos: 0, upperNanos: Infinity };
  const { kLow, kHigh } = acceptedCounts(r.n, q, alpha, concentration);
  return {
    lowerNanos: kLow >= 1 ? r.lowerNanos[bucketPositionOfRank(r, kLow)] : 0,
    upperNanos: kHigh + 1 <= r.n ? r.upperNanos[bucketPositionOfRank(r, kHigh + 1)] : Infinity,
  };
}
