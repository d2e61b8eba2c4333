// Anytime-valid comparison of one latency quantile, canary over baseline, with a relative tolerance.
// "Worse beyond tolerance" (reject H0: Q_c <= (1 + tol) Q_b) when L_c / U_b > 1 + tol; "within tolerance"
// when U_c / L_b < 1 + tol. Each question reads one side of each arm's quantile confidence sequence
// (quantile-confidence-sequence.ts), each side at alpha/2 with its one-sided mixture: "worse" errs only if
// the canary's lower side or the baseline's upper side fails, probability <= alpha/2 + alpha/2 by a union
// bound (how Howard & Ramdas 2022 compare two arms' quantiles in an A/B test: one sequence per arm), so
//   L_c / U_b and U_c / L_b are each a one-sided anytime-valid bound on the ratio at level 1 - alpha
// (as for the error rate, the pair is not a 1 - alpha two-sided interval). Under H0 with atoms the coupling
// X = Q(U) still applies to each arm separately, so the composite null costs nothing. The always-valid p-value is the smallest alpha at which that happens; the
// sequences are nested in alpha (the mixture is fixed), so P(some t has p_t <= alpha) <= alpha under H0.
//
// Computing that smallest alpha directly: the lower bound reaches canary bucket i exactly when every count
// k <= (values below bucket i) is rejected, i.e. at per-arm level exp(-log M(cumBefore_i)) (log M decreases
// towards t q); the upper bound of the baseline falls to the top of bucket j at level exp(-log M(cum_j)).
// The p-value is 2 * min over compatible bucket pairs of the larger of the two levels; one level rises with
// i while the best partner's level falls, so a binary search over i finds the minimum in O(log^2 buckets)
// mixture evaluations instead of a bisection over alpha.
import { oneSidedLevel, quantileConfidenceSequence } from './quantile-confidence-sequence.js';
import type { RankedBuckets } from './ranked-buckets.js';

export interface QuantileRatioResult {
  /** One-sided bounds on Q_c(q) / Q_b(q), each at the reporting level. */
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
  const level = (k: number): number => oneSidedLevel(k, r.n, q, concentration);
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

/** Prior concentration of each arm's mixture (one number: the same for both). */
export type ArmConcentrations = number | { canary: number; baseline: number };

export function quantileRatioTest(
  canary: RankedBuckets,
  baseline: RankedBuckets,
  q: number,
  tolerance: number,
  reportingAlpha: number,
  concentration: ArmConcentrations,
  canaryAlphaShare = 0.5,
): QuantileRatioResult {
  const limit = 1 + tolerance;
  const f = canaryAlphaShare;
  if (!(f > 0 && f < 1)) throw new RangeError('canaryAlphaShare must be in (0, 1)');
  const cc = typeof concentration === 'number' ? concentration : concentration.canary;
  const bc = typeof concentration === 'number' ? concentration : concentration.baseline;
  const c = quantileConfidenceSequence(canary, q, f * reportingAlpha, cc);
  const b = quantileConfidenceSequence(baseline, q, (1 - f) * reportingAlpha, bc);
  const lower = b.upperNanos === Infinity ? 0 : c.lowerNanos / b.upperNanos;
  const upper = b.lowerNanos === 0 ? Infinity : c.upperNanos / b.lowerNanos;
  if (canary.n === 0 || baseline.n === 0) {
    return { lower, upper, canary: c, baseline: b, worsePValue: 1, withinPValue: 1 };
  }
  const cl = armLevels(canary, q, cc);
  const bl = armLevels(baseline, q, bc);
  // Worse: canary bucket i's bottom edge above limit * top edge of baseline bucket j; best j is the largest.
  const worse = minimax(
    canary.cumulative.length,
    (i) => cl.lowerReaches(i) / f,
    (i) => {
      const j = lastBelow(baseline.upperNanos, canary.lowerNanos[i] / limit);
      return j < 0 ? Infinity : bl.upperReaches(j) / (1 - f);
    },
  );
  // Within: top edge of canary bucket i below limit * bottom edge of baseline bucket j; best i is the largest.
  const within = minimax(
    baseline.cumulative.length,
    (j) => bl.lowerReaches(j) / (1 - f),
    (j) => {
      const i = lastBelow(canary.upperNanos, baseline.lowerNanos[j] * limit);
      return i < 0 ? Infinity : cl.upperReaches(i) / f;
    },
  );
  return {
    lower,
    upper,
    canary: c,
    baseline: b,
    worsePValue: Math.min(1, worse),
    withinPValue: Math.min(1, within),
  };
}
