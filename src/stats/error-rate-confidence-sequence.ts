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
// s^2 uses each arm's own rate, so any canary share (1%..50%) is handled; with a plug-in variance the
// guarantee is asymptotic (Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central limit theory
// and asymptotic confidence sequences", Ann. Stat. 2024), hence the minimum-sample rule in the policy.
//
// Stated rule (zero baseline errors, zero errors at all): the variance uses (e + 0.5)/(n + 1) per arm, so it
// never collapses to 0 and one early canary error against an error-free baseline is not "infinitely
// significant".

export interface ErrorCounts {
  canaryErrors: number;
  canaryRequests: number;
  baselineErrors: number;
  baselineRequests: number;
}

export interface ErrorRateSequentialResult {
  /** Observed canary rate minus baseline rate. */
  difference: number;
  /** Confidence sequence for the difference at level alpha. */
  lower: number;
  upper: number;
  /** Instantaneous always-valid p-value for H0: difference <= tolerance (1 unless d > tolerance). */
  worsePValue: number;
  /** Instantaneous always-valid p-value for H0: difference >= tolerance (1 unless d < tolerance). */
  withinPValue: number;
}

function smoothedVariance(errors: number, requests: number): number {
  const p = (errors + 0.5) / (requests + 1);
  return (p * (1 - p)) / requests;
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
  const half = Math.sqrt((v + rho2) * (Math.log1p(v / rho2) + 2 * Math.log(1 / alpha))) / v;
  const gap = difference - tolerance;
  // log M at theta0 = tolerance.
  const logM = 0.5 * Math.log(rho2 / (v + rho2)) + (gap * gap * v * v) / (2 * (v + rho2));
  const p = Math.min(1, Math.exp(-logM));
  return {
    difference,
    lower: Math.max(-1, difference - half),
    upper: Math.min(1, difference + half),
    worsePValue: gap > 0 ? p : 1,
    withinPValue: gap < 0 ? p : 1,
  };
}
