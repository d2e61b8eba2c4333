// Anytime-valid comparison of one latency quantile, canary over baseline, with a relative tolerance.
// Each arm gets a quantile confidence sequence at alpha/2 (quantile-confidence-sequence.ts); by a union bound
// both hold for all time with probability >= 1 - alpha, so
//   ratio in [L_c / U_b, U_c / L_b]  for all t.
// "Worse beyond tolerance" (reject H0: Q_c <= (1 + tol) Q_b) when L_c / U_b > 1 + tol; "within tolerance"
// when U_c / L_b < 1 + tol. The always-valid p-value is the smallest alpha at which that happens; the
// sequences are nested in alpha (the mixture is fixed), so P(some t has p_t <= alpha) <= alpha under H0.
//
// Computing that smallest alpha directly: the lower bound reaches canary bucket i exactly when every count
// k <= (values below bucket i) is rejected, i.e. at per-arm level exp(-log M(cumBefore_i)) (log M decreases
// towards t q); the upper bound of the baseline falls to the top of bucket j at level exp(-log M(cum_j)).
// The p-value is 2 * min over compatible bucket pairs of the larger of the two levels; one level rises with
// i while the best partner's level falls, so a binary search over i finds the minimum in O(log^2 buckets)
// mixture evaluations instead of a bisection over alpha.
import { logBetaBinomialMixture, quantileConfidenceSequence } from './quantile-confidence-sequence.js';
import type { RankedBuckets } from './ranked-buckets.js';

export interface QuantileRatioResult {
  /** Bounds on Q_c(q) / Q_b(q) at the reporting level. */
  lower: number;
  upper: number;
  canary: { lowerNanos: number; upperNanos: number };
  baseline: { lowerNanos: number; upperNanos: number };
  worsePValue: number;
  withinPValue: number;
}

interface ArmLevels {
  /** Per-arm level at which the lower bound reaches the bottom edge of bucket i (Infinity if never). */
  lowerReaches(i: number): number;
  /** Per-arm level at which the upper bound falls to the top edge of bucket j (Infinity if never). */
  upperReaches(j: number): number;
}

function armLevels(r: RankedBuckets, q: number, concentration: number): ArmLevels {
  const argMin = r.n * q;
  const level = (k: number): number =>
    Math.min(1, Math.exp(-logBetaBinomialMixture(k, r.n, q, concentration)));
  return {
    lowerReaches: (i) => {
      const below = i === 0 ? 0 : r.cumulative[i - 1];
      return below < argMin ? level(below) : Infinity;
    },
    upperReaches: (j) => (r.cumulative[j] > argMin ? level(r.cumulative[j]) : Infinity),
  };
}

/** Largest index j with edges[j] < limit (edges ascending), or -1. */
function lastBelow(edges: number[], limit: number): number {
  let lo = -1;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] < limit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * min over i in [0, count) of max(rising(i), falling(i)), where rising is nondecreasing and falling is
 * nonincreasing in i.
 */
function minimax(count: number, rising: (i: number) => number, falling: (i: number) => number): number {
  if (count === 0) return Infinity;
  let lo = 0;
  let hi = count; // first i with rising(i) >= falling(i), or count
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rising(mid) >= falling(mid)) hi = mid;
    else lo = mid + 1;
  }
  let best = Infinity;
  if (lo < count) best = Math.min(best, Math.max(rising(lo), falling(lo)));
  if (lo > 0) best = Math.min(best, Math.max(rising(lo - 1), falling(lo - 1)));
  return best;
}

export function quantileRatioTest(
  canary: RankedBuckets,
  baseline: RankedBuckets,
  q: number,
  tolerance: number,
  reportingAlpha: number,
  concentration: number,
): QuantileRatioResult {
  const limit = 1 + tolerance;
  const c = quantileConfidenceSequence(canary, q, reportingAlpha / 2, concentration);
  const b = quantileConfidenceSequence(baseline, q, reportingAlpha / 2, concentration);
  const lower = b.upperNanos === Infinity ? 0 : c.lowerNanos / b.upperNanos;
  const upper = b.lowerNanos === 0 ? Infinity : c.upperNanos / b.lowerNanos;
  if (canary.n === 0 || baseline.n === 0) {
    return { lower, upper, canary: c, baseline: b, worsePValue: 1, withinPValue: 1 };
  }
  const cl = armLevels(canary, q, concentration);
  const bl = armLevels(baseline, q, concentration);
  // Worse: canary bucket i's bottom edge above limit * top edge of baseline bucket j; best j is the largest.
  const worse = minimax(
    canary.cumulative.length,
    (i) => cl.lowerReaches(i),
    (i) => {
      const j = lastBelow(baseline.upperNanos, canary.lowerNanos[i] / limit);
      return j < 0 ? Infinity : bl.upperReaches(j);
    },
  );
  // Within: top edge of canary bucket i below limit * bottom edge of baseline bucket j; best i is the largest.
  const within = minimax(
    baseline.cumulative.length,
    (j) => bl.lowerReaches(j),
    (j) => {
      const i = lastBelow(canary.upperNanos, baseline.lowerNanos[j] * limit);
      return i < 0 ? Infinity : cl.upperReaches(i);
    },
  );
  return {
    lower,
    upper,
    canary: c,
    baseline: b,
    worsePValue: Math.min(1, 2 * worse),
    withinPValue: Math.min(1, 2 * within),
  };
}
