// Latency-quantile evidence for one metric: the two-sample mixture test of every counted stage, stitched
// (stage-stitching.ts), for fail, and its inversion for the reported lower bound (quantile-fail-bound.ts), so
// the bound beside a fail is the decision's own; the current stage's per-arm quantile sequences for the upper
// bound and pass (quantile-ratio-test.ts); and, when the buckets are too coarse for the tolerance, which buckets.
import { type AnalysisPolicy, type CoarseBucketsNote, type MetricSpec, reported } from './analysis-policy.js';
import type { ArmLatency } from './arm-latency.js';
import { type MetricEvidence, minSamplesOf, type StageView } from './metric-evidence.js';
import { pValueOfLogEvidence } from './normal-mixture.js';
import { betaBinomialConcentration } from './quantile-confidence-sequence.js';
import { quantileMixtureWeights, quantileRatioTest } from './quantile-ratio-test.js';
import { twoSampleQuantileEvidence } from './quantile-two-sample.js';
import { largestRejectedRatio } from './quantile-fail-bound.js';
import { lowerEdgeOfRank, upperEdgeOfRank } from './ranked-buckets.js';
import { stitchLogEvidence } from './stage-stitching.js';

/**
 * Part of a latency metric's alpha spent on the canary's side of the union bound (quantile-ratio-test.ts),
 * the rest going to the baseline's. Any split fixed before the data is valid (weighted Bonferroni). A
 * sequence's half-width grows like sqrt(log(1/alpha_arm) / n_arm) near its tuned size (the normal-mixture
 * boundary that the beta-binomial one approximates, Howard et al. 2021, eq. 14; Howard & Ramdas 2022,
 * Theorem 1), so the sum of both arms' half-widths, which is what the ratio needs to clear, is smallest, to
 * first order, when alpha_c / alpha_b = sqrt(n_b / n_c): with a 10% canary, 3/4 of alpha on the canary's
 * side. At a 50% share this is the even split. `share` is the stage's declared share (or the policy's hint).
 */
export function quantileCanaryAlphaShare(share: number): number {
  const s = Math.min(1 - 1e-6, Math.max(1e-6, share));
  const ratio = Math.sqrt((1 - s) / s);
  return ratio / (1 + ratio);
}

/**
 * Each arm's mixture is tuned (Howard et al. 2021, eq. 15, as in quantile-confidence-sequence.ts) for the
 * samples it holds when the canary holds quantileTunedForSamples: the baseline holds (1 - share) / share
 * times as many, 9x at a 10% canary. Both depend only on the configuration and the stage's declared share,
 * never on the data, as the guarantee requires.
 */
export function quantileConcentrations(
  share: number,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): { canary: number; baseline: number } {
  const s = Math.min(1 - 1e-6, Math.max(1e-6, share));
  const canaryTarget = policy.quantileTunedForSamples;
  const f = quantileCanaryAlphaShare(s);
  return {
    canary: betaBinomialConcentration(canaryTarget, f * decisionAlpha),
    baseline: betaBinomialConcentration((canaryTarget * (1 - s)) / s, (1 - f) * decisionAlpha),
  };
}

/**
 * The buckets holding the nearest-rank quantile in each arm, and whether even exact knowledge of them could
 * decide the tolerance: pass needs U_c / L_b < 1 + tol and fail L_c / U_b > 1 + tol at those brackets.
 * Returned only when neither can happen and coarse buckets are involved.
 */
function coarseNote(c: ArmLatency, b: ArmLatency, q: number, limit: number): CoarseBucketsNote | undefined {
  if (c.coarseCount + b.coarseCount === 0 || c.n === 0 || b.n === 0) return undefined;
  const bracket = (a: ArmLatency): [number, number] => {
    const rank = Math.max(1, Math.ceil(q * a.n));
    return [lowerEdgeOfRank(a.ranks, rank), upperEdgeOfRank(a.ranks, rank)];
  };
  const [lc, uc] = bracket(c);
  const [lb, ub] = bracket(b);
  const canPass = lb > 0 && uc / lb < limit;
  const canFail = ub > 0 && lc / ub > limit;
  if (canPass || canFail) return undefined;
  const width = Math.max(lc > 0 ? uc / lc : Infinity, lb > 0 ? ub / lb : Infinity);
  return {
    canaryNanos: [reported(lc), reported(uc)],
    baselineNanos: [reported(lb), reported(ub)],
    widthRatio: reported(width),
  };
}

/** One stage's two-sample fail test as a function of the limit, with the mixtures the decision uses. */
function stageTest(
  stage: StageView,
  q: number,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): (limit: number) => number {
  const { canary, baseline } = stage.latency();
  const c = quantileConcentrations(stage.tuningShare, policy, decisionAlpha);
  const weights = quantileMixtureWeights(quantileCanaryAlphaShare(stage.tuningShare));
  return twoSampleQuantileEvidence(
    canary.ranks,
    baseline.ranks,
    q,
    c.canary,
    c.baseline,
    weights,
    stage.buffers,
  );
}

function enough(stage: StageView, minSamples: number): boolean {
  const { canary, baseline } = stage.latency();
  return canary.n >= minSamples && baseline.n >= minSamples;
}

export function latencyQuantileEvidence(
  stages: readonly StageView[],
  spec: MetricSpec,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): MetricEvidence {
  const q = spec.quantile ?? 0.5;
  const limit = 1 + spec.tolerance;
  const minSamples = minSamplesOf(spec, policy);
  const current = stages[stages.length - 1];
  const now = current.latency();
  const f = quantileCanaryAlphaShare(current.tuningShare);
  // The current stage's fail test, shared by the decision (quantileRatioTest) and the bound's inversion below:
  // its per-arm evidence memo is then filled once per evaluation, not twice.
  const currentTest = stageTest(current, q, policy, decisionAlpha);
  const r = quantileRatioTest(
    now.canary.ranks,
    now.baseline.ranks,
    q,
    spec.tolerance,
    decisionAlpha,
    quantileConcentrations(current.tuningShare, policy, decisionAlpha),
    f,
    currentTest,
  );
  const currentEnough = enough(current, minSamples);
  const counted = stages.filter((stage) => enough(stage, minSamples));
  const stageEvidence = counted.map((stage) => {
    if (stage === current) return r.worseLogEvidence;
    const key = `${spec.id}|${q}|${spec.tolerance}|${decisionAlpha}|${policy.quantileTunedForSamples}`;
    return stage.memo(key, false, () => {
      // The test is read once here: its memos are free again for the next test (evaluation-buffers.ts).
      const mark = stage.buffers?.memoMark();
      const value = stageTest(stage, q, policy, decisionAlpha)(limit);
      if (mark !== undefined) stage.buffers?.releaseMemosTo(mark);
      return value;
    });
  });
  const worseLogEvidence = stageEvidence.length > 0 ? stitchLogEvidence(stageEvidence) : 0;
  const estimate = now.canary.quantileEstimate(q) / now.baseline.quantileEstimate(q);
  // The fail test inverted (quantile-fail-bound.ts): every counted stage's two-sample evidence at a limit L,
  // stitched as the decision stitches it; the current stage's test is the one quantileRatioTest ran.
  const lowerBoundAt = (alpha: number, previous?: number): number => {
    if (counted.length === 0) return 0;
    // The earlier stages' tests live for this search only: their memos are free again after it.
    const mark = current.buffers?.memoMark();
    const tests = counted.map((stage) =>
      stage === current ? currentTest : stageTest(stage, q, policy, decisionAlpha),
    );
    // One buffer for every limit the bisection tries (it evaluates the stitched evidence many times).
    const atLimit = new Float64Array(tests.length);
    const stitchedAt = (L: number): number => {
      for (let k = 0; k < tests.length; k++) atLimit[k] = tests[k](L);
      return stitchLogEvidence(atLimit);
    };
    const bound = largestRejectedRatio(stitchedAt, Math.log(1 / alpha), limit, [r.lower, estimate], previous);
    if (mark !== undefined) current.buffers?.releaseMemosTo(mark);
    return bound;
  };
  return {
    effect: {
      scale: 'ratio',
      estimate: reported(estimate),
      lower: reported(r.lower),
      upper: reported(r.upper),
      level: 1 - decisionAlpha,
      lowerLevel: 1 - decisionAlpha,
      lowerTest: 'two-sample-quantile-mixture',
      upperTest: 'per-arm-quantile-sequences',
    },
    lowerBoundAt,
    fixedHorizon: current.latencyFixedHorizon(policy),
    worsePValue: pValueOfLogEvidence(worseLogEvidence),
    worseLogEvidence,
    withinPValue: currentEnough ? r.withinPValue : 1,
    samples: { baseline: now.baseline.n, canary: now.canary.n },
    minSamplesMet: currentEnough,
    stagesCounted: counted.length,
    coarseBuckets: currentEnough ? coarseNote(now.canary, now.baseline, q, limit) : undefined,
  };
}
