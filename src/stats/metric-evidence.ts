// One tick's evidence for one metric, before the running minima and the family-wise decision are applied
// (evaluate-analysis.ts does that): the anytime-valid effect bounds and instantaneous p-values, and the
// fixed-horizon test reported beside them.
import type { ArmState } from '../accumulate/arm-state.js';
import type { AnalysisPolicy, Effect, FixedHorizonEvidence, MetricSpec } from './analysis-policy.js';
import { errorRateConfidenceSequence } from './error-rate-confidence-sequence.js';
import { fisherExactTest } from './fisher-exact-test.js';
import { hodgesLehmannShift } from './hodges-lehmann-shift.js';
import { mannWhitneyU } from './mann-whitney-u.js';
import { betaBinomialConcentration } from './quantile-confidence-sequence.js';
import { quantileRatioTest } from './quantile-ratio-test.js';
import type { RankedBuckets } from './ranked-buckets.js';
import type { TiedSample } from './tied-sample.js';
import { twoProportionZTest } from './two-proportion-z-test.js';

export interface MetricEvidence {
  effect: Effect;
  fixedHorizon: FixedHorizonEvidence;
  worsePValue: number;
  withinPValue: number;
  samples: { baseline: number; canary: number };
}

/** Fisher's exact test replaces the z-test when an expected cell count is below 5 (Cochran's rule). */
function errorRateFixedHorizon(c: ArmState, b: ArmState, confidence: number): FixedHorizonEvidence {
  const n = c.requests + b.requests;
  const errors = c.errors + b.errors;
  const minExpected = (Math.min(c.requests, b.requests) * Math.min(errors, n - errors)) / Math.max(n, 1);
  if (minExpected < 5) {
    const f = fisherExactTest(c.errors, c.requests - c.errors, b.errors, b.requests - b.errors);
    return { test: 'fisher-exact', statistic: f.oddsRatio, pValue: f.pValue };
  }
  const z = twoProportionZTest(c.errors, c.requests, b.errors, b.requests, confidence);
  return { test: 'two-proportion-z', statistic: z.z, pValue: z.pValue };
}

export function errorRateEvidence(
  canary: ArmState,
  baseline: ArmState,
  spec: MetricSpec,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): MetricEvidence {
  const cs = errorRateConfidenceSequence(
    {
      canaryErrors: canary.errors,
      canaryRequests: canary.requests,
      baselineErrors: baseline.errors,
      baselineRequests: baseline.requests,
    },
    spec.tolerance,
    decisionAlpha,
    policy.errorRateMixtureSd,
  );
  return {
    effect: {
      scale: 'difference',
      estimate: cs.difference,
      lower: cs.lower,
      upper: cs.upper,
      level: 1 - decisionAlpha,
    },
    fixedHorizon: errorRateFixedHorizon(canary, baseline, policy.reportConfidence),
    worsePValue: cs.worsePValue,
    withinPValue: cs.withinPValue,
    samples: { baseline: baseline.requests, canary: canary.requests },
  };
}

/** Inputs shared by every latency metric of one evaluation, built once per tick. */
export interface LatencyViews {
  canaryRanks: RankedBuckets;
  baselineRanks: RankedBuckets;
  canaryTied: TiedSample;
  baselineTied: TiedSample;
  fixedHorizon: FixedHorizonEvidence;
}

export function latencyFixedHorizon(
  canaryTied: TiedSample,
  baselineTied: TiedSample,
  policy: AnalysisPolicy,
): FixedHorizonEvidence {
  if (policy.evidence === 'decisions-only') return { test: 'skipped', statistic: NaN, pValue: NaN };
  const u = mannWhitneyU(canaryTied, baselineTied, 'two-sided');
  const hl = hodgesLehmannShift(canaryTied, baselineTied, policy.reportConfidence);
  return {
    test: 'mann-whitney-u',
    statistic: u.u1,
    pValue: u.pValue,
    shiftNanos: { estimate: hl.estimate, lower: hl.lower, upper: hl.upper },
  };
}

export function latencyQuantileEvidence(
  views: LatencyViews,
  spec: MetricSpec,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): MetricEvidence {
  const q = spec.quantile ?? 0.5;
  const r = quantileRatioTest(
    views.canaryRanks,
    views.baselineRanks,
    q,
    spec.tolerance,
    decisionAlpha,
    quantileConcentrations(policy, decisionAlpha),
    quantileCanaryAlphaShare(policy),
  );
  const estimate = pointQuantile(views.canaryRanks, q) / pointQuantile(views.baselineRanks, q);
  return {
    effect: { scale: 'ratio', estimate, lower: r.lower, upper: r.upper, level: 1 - decisionAlpha },
    fixedHorizon: views.fixedHorizon,
    worsePValue: r.worsePValue,
    withinPValue: r.withinPValue,
    samples: { baseline: views.baselineRanks.n, canary: views.canaryRanks.n },
  };
}

/**
 * Each arm's mixture is tuned (Howard et al. 2021, eq. 15, as in quantile-confidence-sequence.ts) for the samples it
 * holds when the canary holds quantileTunedForSamples: the baseline holds (1 - share) / share times as many,
 * 9x at a 10% canary. One t* for both arms would leave the baseline's boundary, which then runs far past its
 * optimum, wider than needed. Both depend only on the configuration, never on the data, as the guarantee
 * requires.
 */
export function quantileConcentrations(
  policy: AnalysisPolicy,
  decisionAlpha: number,
): { canary: number; baseline: number } {
  const share = Math.min(1 - 1e-6, Math.max(1e-6, policy.canaryShare));
  const canaryTarget = policy.quantileTunedForSamples;
  const f = quantileCanaryAlphaShare(policy);
  return {
    canary: betaBinomialConcentration(canaryTarget, f * decisionAlpha),
    baseline: betaBinomialConcentration((canaryTarget * (1 - share)) / share, (1 - f) * decisionAlpha),
  };
}

/**
 * Part of a latency metric's alpha spent on the canary's side of the union bound (quantile-ratio-test.ts),
 * the rest going to the baseline's. Any split fixed before the data is valid (weighted Bonferroni). A
 * sequence's half-width grows like sqrt(log(1/alpha_arm) / n_arm) near its tuned size (the normal-mixture
 * boundary that the beta-binomial one approximates, Howard et al. 2021, eq. 14; Howard & Ramdas 2022,
 * Theorem 1), so the sum of both arms' half-widths, which is what the
 * ratio needs to clear, is smallest, to first order, when alpha_c / alpha_b = sqrt(n_b / n_c): with a 10%
 * canary, 3/4 of alpha on the canary's side. At a 50% share this is the even split.
 */
export function quantileCanaryAlphaShare(policy: AnalysisPolicy): number {
  const share = Math.min(1 - 1e-6, Math.max(1e-6, policy.canaryShare));
  const ratio = Math.sqrt((1 - share) / share);
  return ratio / (1 + ratio);
}

/** Nearest-rank quantile's bucket midpoint (2 lo hi / (lo + hi)), 0 in the zero bucket, NaN when empty. */
function pointQuantile(r: RankedBuckets, q: number): number {
  if (r.n === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * r.n));
  let i = 0;
  while (i < r.cumulative.length - 1 && r.cumulative[i] < rank) i++;
  const lo = r.lowerNanos[i];
  const hi = r.upperNanos[i];
  return lo + hi === 0 ? 0 : (2 * lo * hi) / (lo + hi);
}
