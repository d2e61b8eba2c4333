// Anytime-valid comparison of error rates, difference canary minus baseline, for unequal arm sizes.
//
// The mixture SPRT of Johari, Koomen, Pekelis & Walsh ("Peeking at A/B tests", KDD 2017; "Always valid
// inference", Oper. Res. 2022) for a difference of means with plug-in variance: with the estimate
// d = e_c/n_c - e_b/n_b, its variance s^2 = p_c(1-p_c)/n_c + p_b(1-p_b)/n_b and a N(theta0, tau^2) mixture
// over the effect, the likelihood-ratio martingale against H0: theta = theta0 is
//   M = sqrt(s^2 / (s^2 + tau^2)) * exp(tau^2 (d - theta0)^2 / (2 s^2 (s^2 + tau^2))).
// In Howard, Ramdas, McAuliffe & Sekhon ("Time-uniform, nonparametric, nonasymptotic confidence sequences",
// Ann. Stat. 2021, eq. 14) terms this is the two-sided normal mixture with intrinsic time V = 1/s^2 and
// rho = 1/tau; its inversion is the confidence sequence
//   d -/+ sqrt((V + rho^2) (log(1 + V/rho^2) + 2 log(1/alpha))) / V.
// Fail and pass are one-sided questions, so each uses a one-sided mixture over lambda >= 0
// (normal-mixture.ts: a half-normal, or a normal centred on tolerance-sized gaps), a nonnegative
// supermartingale under H0: theta <= theta0, which needs up to log 2 less evidence than the two-sided one.
// The reported bounds are its inversions: the lower bound is the largest theta0 that "worse" rejects at
// alpha, the upper the smallest that "within" rejects, so `lower > tolerance` exactly when the worse-p-value
// is <= alpha.
//
// Stages and blocks. A run's stages (evaluate-analysis.ts) each compare the arms within the stage only:
// stage k contributes S_k = (d_k - theta0) V_k(theta0) and V_k(theta0), and the fail test sums them,
// S = sum S_k, V = sum V_k, one mixture over the whole run. Under H0 (theta_k <= theta0 in every stage) the
// concatenated stage sums are again a sum of mean <= 0 increments with variance process V, so the mixture
// stays an e-process; a baseline that drifts between stages cancels within each stage (no Simpson's paradox,
// which pooling both arms over stages with different shares would produce). The pass test ("within") reads
// the current stage alone. Each arm's variance is multiplied by its design effect from per-tick blocks
// (error-blocks.ts), so bursts of errors inside one arm widen the test instead of failing it.
// With a plug-in variance the guarantee is asymptotic (Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas,
// "Time-uniform central limit theory and asymptotic confidence sequences", Ann. Stat. 2024), so how s^2 is
// estimated decides how soon the normal approximation can be trusted:
// - Once the canary's expected error count under the pooled rate reaches MIN_EXPECTED_CANARY_ERRORS, s^2 is
//   evaluated under the null being tested, p_c - p_b = theta0 (the score-test choice of Farrington &
//   Manning, Stat. Med. 1990, with a pooled-and-shifted estimate in place of their restricted MLE):
//     p_b0 = (e_c + e_b + 0.5 - n_c theta0) / (n_c + n_b + 1),  p_c0 = p_b0 + theta0.
//   It is consistent under H0 for any arm sizes and roughly halves the time to catch 1% -> 2%.
// - Before that, each arm's own rate (e + 0.5)/(n + 1) is used. A sparse canary's error count is skewed
//   (Poisson-like), and against the pooled variance a chance burst of canary errors looks significant: in
//   simulation the null variance alone failed 1.8% of A/A runs at alpha = 1% with a 1% canary share; the
//   canary's own rate is larger exactly in those bursts and keeps the test valid (0 of 1,000).
// With bursts (design effect DE_c > 1, error-blocks.ts) the threshold counts expected canary errors / DE_c, the
// expected number of independent error events.
// Stated rule (zero baseline errors, zero errors at all): the +0.5 / +1 and a clamp to [0.5/(n+1),
// 1 - 0.5/(n+1)] keep the variance above 0, so one early canary error against an error-free baseline is not
// "infinitely significant".
import {
  invertLogEvidence,
  logNormalMixture,
  type NormalMixturePrior,
  pValueOfLogEvidence,
} from './normal-mixture.js';

export interface ErrorCounts {
  canaryErrors: number;
  canaryRequests: number;
  baselineErrors: number;
  baselineRequests: number;
}

/** One stage's counts and each arm's design effect (>= 1; 1 for independent requests). */
export interface ErrorStage extends ErrorCounts {
  canaryDesignEffect: number;
  baselineDesignEffect: number;
}

export interface ErrorRateSequentialResult {
  /** The current stage's canary rate minus baseline rate. */
  difference: number;
  /** One-sided anytime-valid bounds for the difference, each at level alpha (lower: every stage; upper: current). */
  lower: number;
  upper: number;
  /** log E of "worse than tolerance" over every stage, and its p-value min(1, 1/E). */
  worseLogEvidence: number;
  worsePValue: number;
  /** log E of "within tolerance" in the current stage, and its p-value. */
  withinLogEvidence: number;
  withinPValue: number;
}

/** Below this many expected canary errors the variance comes from each arm's own rate (see above). */
export const MIN_EXPECTED_CANARY_ERRORS = 20;

/** Intrinsic time V = 1 / Var(d) of one stage: under H0 p_c - p_b = theta0 when the canary has enough expected errors. */
function information(c: ErrorStage, theta0: number): number {
  const n = c.canaryRequests + c.baselineRequests;
  const pooled = (c.canaryErrors + c.baselineErrors) / n;
  const dc = c.canaryDesignEffect;
  const db = c.baselineDesignEffect;
  // Bursts make errors arrive as fewer, larger events: the count of independent events is what the normal
  // approximation needs, so the threshold applies to expected errors over the design effect.
  if ((c.canaryRequests * pooled) / dc < MIN_EXPECTED_CANARY_ERRORS) {
    return (
      1 /
      (dc * ownVariance(c.canaryErrors, c.canaryRequests) +
        db * ownVariance(c.baselineErrors, c.baselineRequests))
    );
  }
  const floor = 0.5 / (n + 1);
  const pb = clamped((c.canaryErrors + c.baselineErrors + 0.5 - c.canaryRequests * theta0) / (n + 1), floor);
  const pc = clamped(pb + theta0, floor);
  return 1 / ((dc * pc * (1 - pc)) / c.canaryRequests + (db * pb * (1 - pb)) / c.baselineRequests);
}

// information's helpers are module functions, not closures made on each of its calls (the searches below
// evaluate it some hundred times per run and tick: issue 13).

/** An arm's variance of its rate from its own errors `e` of `m` requests. */
function ownVariance(e: number, m: number): number {
  const p = (e + 0.5) / (m + 1);
  return (p * (1 - p)) / m;
}

/** p within [floor, 1 - floor]. */
function clamped(p: number, floor: number): number {
  return Math.min(1 - floor, Math.max(floor, p));
}

function difference(c: ErrorCounts): number {
  return c.canaryErrors / c.canaryRequests - c.baselineErrors / c.baselineRequests;
}

/** log E for "difference > theta0 in some stage" (sign 1) or "difference < theta0 in the stage" (sign -1). */
function logEvidence(
  stages: readonly ErrorStage[],
  theta0: number,
  sign: 1 | -1,
  prior: NormalMixturePrior,
): number {
  let s = 0;
  let v = 0;
  for (const c of stages) {
    const vk = information(c, theta0);
    s += sign * (difference(c) - theta0) * vk;
    v += vk;
  }
  return logNormalMixture(s, v, prior);
}

/** Information-weighted difference over stages (where the fail sequence is centred). */
function stratifiedDifference(stages: readonly ErrorStage[], theta0: number): number {
  let num = 0;
  let den = 0;
  for (const c of stages) {
    const vk = information(c, theta0);
    num += difference(c) * vk;
    den += vk;
  }
  return den > 0 ? num / den : NaN;
}

const usable = (c: ErrorCounts): boolean => c.canaryRequests > 0 && c.baselineRequests > 0;

/**
 * The fail test over `failStages` (the stages whose evidence counts) and the pass test over `current` (the
 * current stage, or null when it has no evidence yet). `prior` is the mixture over the gap beyond theta0.
 */
export function errorRateSequential(
  failStages: readonly ErrorStage[],
  current: ErrorStage | null,
  tolerance: number,
  alpha: number,
  prior: NormalMixturePrior,
): ErrorRateSequentialResult {
  const fail = failStages.filter(usable);
  const now = current && usable(current) ? [current] : null;
  const worseLogEvidence = fail.length > 0 ? logEvidence(fail, tolerance, 1, prior) : 0;
  const withinLogEvidence = now ? logEvidence(now, tolerance, -1, prior) : 0;
  return {
    difference: now ? difference(now[0]) : NaN,
    lower: errorRateLowerBound(fail, tolerance, alpha, prior),
    upper: now
      ? Math.min(
          1,
          invertLogEvidence((t) => logEvidence(now, t, -1, prior), difference(now[0]), alpha, -1, 2),
        )
      : 1,
    worseLogEvidence,
    worsePValue: pValueOfLogEvidence(worseLogEvidence),
    withinLogEvidence,
    withinPValue: pValueOfLogEvidence(withinLogEvidence),
  };
}

/**
 * The fail test's lower bound on the difference (every stage in `failStages`, stitched as above) at level
 * 1 - alpha: the largest theta0 that "worse" rejects, so it exceeds the tolerance exactly when the test
 * rejects the tolerance at alpha. -1 when no stage has evidence.
 */
export function errorRateLowerBound(
  failStages: readonly ErrorStage[],
  tolerance: number,
  alpha: number,
  prior: NormalMixturePrior,
): number {
  const fail = failStages.filter(usable);
  if (fail.length === 0) return -1;
  // The search starts at the information-weighted estimate (weights under the tested tolerance).
  const centre = stratifiedDifference(fail, tolerance);
  return Math.max(
    -1,
    invertLogEvidence((t) => logEvidence(fail, t, 1, prior), centre, alpha, 1, 2),
  );
}

/**
 * One stage with independent requests (design effect 1) and the half-normal mixture of scale `mixtureSd`:
 * the single-sample sequence of Johari et al. / Howard et al. described above.
 */
export function errorRateConfidenceSequence(
  c: ErrorCounts,
  tolerance: number,
  alpha: number,
  mixtureSd: number,
): ErrorRateSequentialResult {
  const stage: ErrorStage = { ...c, canaryDesignEffect: 1, baselineDesignEffect: 1 };
  return errorRateSequential([stage], stage, tolerance, alpha, { centre: 0, sd: mixtureSd });
}
