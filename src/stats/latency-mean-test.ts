// Anytime-valid comparison of mean latency, canary over baseline, with a relative tolerance, from exact sums.
//
// Why a mean: with OpenTelemetry's default http.server.request.duration bounds (0, 5, 10, 25, 50, 75, 100,
// 250, 500, 750, 1000, 2500, 5000, 7500, 10000 ms) no two adjacent edges are within 1.3x of each other, so no
// quantile bound can show a 10% tolerance either way (ranked-buckets.ts: bounds sit on bucket edges). Every
// point carries its exact `sum` and `count`, though, so each arm's mean is known exactly; only its variance is
// not, and censored-variance.ts bounds it over every placement of the values inside their buckets.
//
// Test: theta = log(mu_c / mu_b), estimated per stage by l = log(m_c / m_b) with delta-method variance
//   s^2 = v_c / (n_c m_c^2) + v_b / (n_b m_b^2)
// (v = each arm's variance bound, n its count, m its mean). H0 for fail: theta <= log(1 + tolerance) in every
// stage; the stage sums S_k = (l_k - theta0) / s_k^2 and V_k = 1 / s_k^2 are added over stages and tested with
// the one-sided normal mixture (normal-mixture.ts), as the error rate is (error-rate-confidence-sequence.ts).
// Pass reads the current stage: theta >= log(1 + tolerance) rejected. The guarantee is asymptotic in the
// number of values (a central limit theorem for the means; Waudby-Smith et al., Ann. Stat. 2024), and the
// plug-in variance is an upper bound of the sample variance whatever the placement, so it errs on the safe side.
import {
  invertLogEvidence,
  logNormalMixture,
  type NormalMixturePrior,
  pValueOfLogEvidence,
} from './normal-mixture.js';

/** One arm of one stage: its count, exact sum and variance bound. */
export interface MeanArm {
  n: number;
  sumNanos: number;
  varianceBound: number;
}

export interface MeanStage {
  canary: MeanArm;
  baseline: MeanArm;
}

export interface MeanRatioResult {
  /** The current stage's m_c / m_b (Infinity when the baseline mean is 0, NaN when undefined). */
  ratio: number;
  /** Anytime-valid bounds on mu_c / mu_b (lower: every stage; upper: current stage). */
  lower: number;
  upper: number;
  worseLogEvidence: number;
  worsePValue: number;
  withinLogEvidence: number;
  withinPValue: number;
}

interface LogRatio {
  estimate: number;
  variance: number;
}

/** Relative variance floor: identical constant arms would otherwise give 0 / 0. */
const MIN_VARIANCE = 1e-12;

function logRatio(stage: MeanStage): LogRatio | null {
  const { canary: c, baseline: b } = stage;
  if (c.n < 2 || b.n < 2 || !(c.sumNanos > 0) || !(b.sumNanos > 0)) return null;
  if (!Number.isFinite(c.varianceBound) || !Number.isFinite(b.varianceBound)) return null;
  const mc = c.sumNanos / c.n;
  const mb = b.sumNanos / b.n;
  const variance = c.varianceBound / (c.n * mc * mc) + b.varianceBound / (b.n * mb * mb);
  return { estimate: Math.log(mc / mb), variance: Math.max(MIN_VARIANCE, variance) };
}

function logEvidence(
  stages: readonly LogRatio[],
  theta0: number,
  sign: 1 | -1,
  prior: NormalMixturePrior,
): number {
  let s = 0;
  let v = 0;
  for (const r of stages) {
    s += (sign * (r.estimate - theta0)) / r.variance;
    v += 1 / r.variance;
  }
  return logNormalMixture(s, v, prior);
}

/** The fail test over `failStages` and the pass test over `current` (null when it has no evidence yet). */
export function meanRatioTest(
  failStages: readonly MeanStage[],
  current: MeanStage | null,
  tolerance: number,
  alpha: number,
  prior: NormalMixturePrior,
): MeanRatioResult {
  const theta0 = Math.log1p(tolerance);
  const fail = failStages.map(logRatio).filter((r): r is LogRatio => r !== null);
  const now = current ? logRatio(current) : null;
  const worseLogEvidence = fail.length > 0 ? logEvidence(fail, theta0, 1, prior) : 0;
  const withinLogEvidence = now ? logEvidence([now], theta0, -1, prior) : 0;
  const lower = lowerOfRatios(fail, alpha, prior);
  const upper = now
    ? Math.exp(invertLogEvidence((t) => logEvidence([now], t, -1, prior), now.estimate, alpha, -1, SPAN))
    : Infinity;
  const ratio = current ? currentRatio(current) : NaN;
  return {
    ratio,
    lower,
    upper: upper >= Math.exp(SPAN) ? Infinity : upper,
    worseLogEvidence,
    worsePValue: pValueOfLogEvidence(worseLogEvidence),
    withinLogEvidence,
    withinPValue: pValueOfLogEvidence(withinLogEvidence),
  };
}

/** In log units: bounds beyond e^-20 .. e^20 are reported as 0 / Infinity. */
const SPAN = 20;

function lowerOfRatios(fail: readonly LogRatio[], alpha: number, prior: NormalMixturePrior): number {
  if (fail.length === 0) return 0;
  let centre = 0;
  let weight = 0;
  for (const r of fail) {
    centre += r.estimate / r.variance;
    weight += 1 / r.variance;
  }
  const lower = Math.exp(
    invertLogEvidence((t) => logEvidence(fail, t, 1, prior), centre / weight, alpha, 1, SPAN),
  );
  return lower <= Math.exp(-SPAN) ? 0 : lower;
}

/**
 * The fail test's lower bound on mu_c / mu_b over `failStages` at level 1 - alpha: above 1 + tolerance exactly
 * when the test rejects it at alpha (the bound meanRatioTest reports, at another level).
 */
export function meanRatioLowerBound(
  failStages: readonly MeanStage[],
  alpha: number,
  prior: NormalMixturePrior,
): number {
  return lowerOfRatios(
    failStages.map(logRatio).filter((r): r is LogRatio => r !== null),
    alpha,
    prior,
  );
}

function currentRatio(stage: MeanStage): number {
  const { canary: c, baseline: b } = stage;
  if (c.n === 0 || b.n === 0) return NaN;
  return c.sumNanos / c.n / (b.sumNanos / b.n);
}
