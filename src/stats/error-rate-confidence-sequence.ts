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
// Fail and pass are one-sided questions, so each uses the one-sided (half-normal) mixture
//   M+ = 2 sqrt(rho^2 / (V + rho^2)) exp(S^2 / (2 (V + rho^2))) Phi(S / sqrt(V + rho^2)),  S = (d - theta0) V
// (Howard et al. 2021, one-sided normal mixture), a nonnegative supermartingale under H0: theta <= theta0,
// which needs up to log 2 less evidence than the two-sided one. The reported bounds are its inversions: the
// lower bound is the largest theta0 that "worse" rejects at alpha, the upper the smallest that "within"
// rejects, so `lower > tolerance` exactly when the worse-p-value is <= alpha.
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
// Stated rule (zero baseline errors, zero errors at all): the +0.5 / +1 and a clamp to [0.5/(n+1),
// 1 - 0.5/(n+1)] keep the variance above 0, so one early canary error against an error-free baseline is not
// "infinitely significant".
import { normalCdf } from './normal-distribution.js';

export interface ErrorCounts {
  canaryErrors: number;
  canaryRequests: number;
  baselineErrors: number;
  baselineRequests: number;
}

export interface ErrorRateSequentialResult {
  /** Observed canary rate minus baseline rate. */
  difference: number;
  /** One-sided anytime-valid bounds for the difference, each at level alpha. */
  lower: number;
  upper: number;
  /** Instantaneous always-valid p-value for H0: difference <= tolerance. */
  worsePValue: number;
  /** Instantaneous always-valid p-value for H0: difference >= tolerance. */
  withinPValue: number;
}

/** Below this many expected canary errors the variance comes from each arm's own rate (see above). */
export const MIN_EXPECTED_CANARY_ERRORS = 20;

/** Intrinsic time V = 1 / Var(d): under H0 p_c - p_b = theta0 when the canary has enough expected errors. */
function information(c: ErrorCounts, theta0: number): number {
  const n = c.canaryRequests + c.baselineRequests;
  const pooled = (c.canaryErrors + c.baselineErrors) / n;
  if (c.canaryRequests * pooled < MIN_EXPECTED_CANARY_ERRORS) {
    const own = (e: number, m: number): number => {
      const p = (e + 0.5) / (m + 1);
      return (p * (1 - p)) / m;
    };
    return 1 / (own(c.canaryErrors, c.canaryRequests) + own(c.baselineErrors, c.baselineRequests));
  }
  const floor = 0.5 / (n + 1);
  const clamp = (p: number): number => Math.min(1 - floor, Math.max(floor, p));
  const pb = clamp((c.canaryErrors + c.baselineErrors + 0.5 - c.canaryRequests * theta0) / (n + 1));
  const pc = clamp(pb + theta0);
  return 1 / ((pc * (1 - pc)) / c.canaryRequests + (pb * (1 - pb)) / c.baselineRequests);
}

/** 1 / M+ for the gap (d - theta0) in the "worse" direction (pass a negated gap for "within"). */
function oneSidedPValue(gap: number, v: number, rho2: number): number {
  const w = v + rho2;
  const s = gap * v;
  const logM =
    Math.log(2) + 0.5 * Math.log(rho2 / w) + (s * s) / (2 * w) + Math.log(normalCdf(s / Math.sqrt(w)));
  return Math.min(1, Math.exp(-logM));
}

/**
 * The bound on theta: the theta0 nearest to d that the one-sided test rejects at alpha, by bisection (the
 * p-value falls as theta0 moves away from d). At theta0 = d the p-value is 1.
 */
function boundary(c: ErrorCounts, difference: number, rho2: number, alpha: number, sign: 1 | -1): number {
  let inside = difference;
  let outside = difference - sign * 2;
  for (let i = 0; i < 60; i++) {
    const mid = (inside + outside) / 2;
    if (oneSidedPValue(sign * (difference - mid), information(c, mid), rho2) <= alpha) outside = mid;
    else inside = mid;
  }
  return outside;
}

/** `mixtureSd` (tau) is the prior scale of the effect; the sequence is tightest for effects of about that size. */
export function errorRateConfidenceSequence(
  c: ErrorCounts,
  tolerance: number,
  alpha: number,
  mixtureSd: number,
): ErrorRateSequentialResult {
  if (c.canaryRequests <= 0 || c.baselineRequests <= 0) {
    return { difference: NaN, lower: -1, upper: 1, worsePValue: 1, withinPValue: 1 };
  }
  const difference = c.canaryErrors / c.canaryRequests - c.baselineErrors / c.baselineRequests;
  const rho2 = 1 / (mixtureSd * mixtureSd);
  const v = information(c, tolerance);
  return {
    difference,
    lower: Math.max(-1, boundary(c, difference, rho2, alpha, 1)),
    upper: Math.min(1, boundary(c, difference, rho2, alpha, -1)),
    worsePValue: oneSidedPValue(difference - tolerance, v, rho2),
    withinPValue: oneSidedPValue(tolerance - difference, v, rho2),
  };
}
