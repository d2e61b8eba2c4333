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
// s^2 uses each arm's own rate, so any canary share (1%..50%) is handled; with a plug-in variance the
// guarantee is asymptotic (Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central limit theory
// and asymptotic confidence sequences", Ann. Stat. 2024), hence the minimum-sample rule in the policy.
//
// Stated rule (zero baseline errors, zero errors at all): the variance uses (e + 0.5)/(n + 1) per arm, so it
// never collapses to 0 and one early canary error against an error-free baseline is not "infinitely
// significant".
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

function smoothedVariance(errors: number, requests: number): number {
  const p = (errors + 0.5) / (requests + 1);
  return (p * (1 - p)) / requests;
}

/** 1 / M+ for the gap (d - theta0) in the "worse" direction (pass a negated gap for "within"). */
function oneSidedPValue(gap: number, v: number, rho2: number): number {
  const w = v + rho2;
  const s = gap * v;
  const logM =
    Math.log(2) + 0.5 * Math.log(rho2 / w) + (s * s) / (2 * w) + Math.log(normalCdf(s / Math.sqrt(w)));
  return Math.min(1, Math.exp(-logM));
}

/** Largest gap g (as d - theta0) with p(g) <= alpha is found on theta0; p decreases as the gap grows. */
function boundary(difference: number, v: number, rho2: number, alpha: number, sign: 1 | -1): number {
  // Search theta0 in [difference - sign*2, difference]; p at theta0 = difference is >= 1/2 > alpha.
  let inside = difference;
  let outside = difference - sign * 2;
  for (let i = 0; i < 80; i++) {
    const mid = (inside + outside) / 2;
    if (oneSidedPValue(sign * (difference - mid), v, rho2) <= alpha) outside = mid;
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
  const variance =
    smoothedVariance(c.canaryErrors, c.canaryRequests) +
    smoothedVariance(c.baselineErrors, c.baselineRequests);
  const v = 1 / variance;
  const rho2 = 1 / (mixtureSd * mixtureSd);
  return {
    difference,
    lower: Math.max(-1, boundary(difference, v, rho2, alpha, 1)),
    upper: Math.min(1, boundary(difference, v, rho2, alpha, -1)),
    worsePValue: oneSidedPValue(difference - tolerance, v, rho2),
    withinPValue: oneSidedPValue(tolerance - difference, v, rho2),
  };
}
