// Error-rate evidence for one metric: the stratified anytime-valid test (error-rate-confidence-sequence.ts)
// over the stages with enough requests and blocks in both arms, and the descriptive fixed-horizon test of
// the current stage.
import type { ArmState } from '../accumulate/arm-state.js';
import {
  type AnalysisPolicy,
  type FixedHorizonEvidence,
  type MetricSpec,
  reported,
} from './analysis-policy.js';
import {
  type ErrorStage,
  errorRateLowerBound,
  errorRateSequential,
} from './error-rate-confidence-sequence.js';
import { MIN_ERROR_BLOCKS } from './error-blocks.js';
import { fisherExactTest } from './fisher-exact-test.js';
import { type MetricEvidence, minSamplesOf, type StageView } from './metric-evidence.js';
import type { NormalMixturePrior } from './normal-mixture.js';
import { twoProportionZTest } from './two-proportion-z-test.js';

/**
 * The mixture over the gap beyond the tested difference. With a tolerance, 0.8 on gaps of the tolerance's
 * size (a canary twice the tolerance worse is the regression to catch fastest) with half that spread, and 0.2
 * on a wide half-normal of scale 0.05 for gross regressions (normal-mixture.ts); in the detection
 * benchmark's 1% -> 2% at tolerance 0.005 the narrow part decides in a median 125 s where the half-normal of
 * Howard et al. took 140 s, both with the whole alpha on the error rate. With tolerance 0, the half-normal of
 * scale `errorRateMixtureSd`. Fixed by the configuration, never by the data.
 */
export function errorRatePrior(spec: MetricSpec, policy: AnalysisPolicy): NormalMixturePrior {
  if (spec.tolerance > 0) {
    return [
      { weight: 0.8, centre: spec.tolerance, sd: spec.tolerance / 2 },
      { weight: 0.2, centre: 0, sd: Math.max(0.05, 4 * spec.tolerance) },
    ];
  }
  return { centre: 0, sd: policy.errorRateMixtureSd };
}

/** Fisher's exact test replaces the z-test when an expected cell count is below 5 (Cochran's rule). */
function errorRateFixedHorizon(c: ArmState, b: ArmState, confidence: number): FixedHorizonEvidence {
  const n = c.requests + b.requests;
  const errors = c.errors + b.errors;
  const minExpected = (Math.min(c.requests, b.requests) * Math.min(errors, n - errors)) / Math.max(n, 1);
  if (minExpected < 5) {
    const f = fisherExactTest(c.errors, c.requests - c.errors, b.errors, b.requests - b.errors);
    return { use: 'descriptive', test: 'fisher-exact', statistic: f.oddsRatio, pValue: f.pValue };
  }
  const z = twoProportionZTest(c.errors, c.requests, b.errors, b.requests, confidence);
  return { use: 'descriptive', test: 'two-proportion-z', statistic: z.z, pValue: z.pValue };
}

function errorStage(stage: StageView): ErrorStage {
  const design = stage.errorDesign();
  return {
    canaryErrors: stage.canary.errors,
    canaryRequests: stage.canary.requests,
    baselineErrors: stage.baseline.errors,
    baselineRequests: stage.baseline.requests,
    canaryDesignEffect: design.canary,
    baselineDesignEffect: design.baseline,
  };
}

/** Both arms have the minimum requests and enough blocks for their design effects. */
function counts(stage: StageView, minSamples: number): boolean {
  return (
    stage.canary.requests >= minSamples &&
    stage.baseline.requests >= minSamples &&
    stage.errorDesign().trusted
  );
}

export function errorRateEvidence(
  stages: readonly StageView[],
  spec: MetricSpec,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): MetricEvidence {
  const minSamples = minSamplesOf(spec, policy);
  const current = stages[stages.length - 1];
  const counted = stages.filter((s) => counts(s, minSamples));
  const currentCounts = counts(current, minSamples);
  const failStages = counted.map(errorStage);
  const prior = errorRatePrior(spec, policy);
  const result = errorRateSequential(
    failStages,
    currentCounts ? errorStage(current) : null,
    spec.tolerance,
    decisionAlpha,
    prior,
  );
  const { canary, baseline } = current;
  const requestsMet = canary.requests >= minSamples && baseline.requests >= minSamples;
  const blocks = Math.min(
    current.blocks.errorBlocks.canary.blocks,
    current.blocks.errorBlocks.baseline.blocks,
  );
  const difference =
    canary.requests > 0 && baseline.requests > 0 ? canary.errorRate - baseline.errorRate : NaN;
  return {
    effect: {
      scale: 'difference',
      estimate: reported(difference),
      lower: reported(result.lower),
      upper: reported(result.upper),
      level: 1 - decisionAlpha,
      lowerLevel: 1 - decisionAlpha,
      lowerTest: 'error-rate-mixture',
      upperTest: 'error-rate-mixture',
    },
    lowerBoundAt: (alpha) =>
      alpha === decisionAlpha ? result.lower : errorRateLowerBound(failStages, spec.tolerance, alpha, prior),
    fixedHorizon: errorRateFixedHorizon(canary, baseline, policy.reportConfidence),
    worsePValue: result.worsePValue,
    worseLogEvidence: result.worseLogEvidence,
    withinPValue: result.withinPValue,
    samples: { baseline: baseline.requests, canary: canary.requests },
    minSamplesMet: requestsMet,
    stagesCounted: counted.length,
    waiting:
      requestsMet && !currentCounts
        ? `waiting for ${MIN_ERROR_BLOCKS} ticks with requests in both arms (the error-rate variance is estimated from per-tick blocks; ${blocks} so far)`
        : undefined,
  };
}
