// The traffic split of a run, stage by stage: each stage that declared a canary share is tested against it
// with the sequential Dirichlet-multinomial Bayes factor (sequential-sample-ratio-test.ts), and the run's
// evidence is the stitched product of the checked stages' factors (stage-stitching.ts). A stage without a
// declared share is not checked and says so; a share that grows 10% -> 20% -> 50% is then tested against the
// share each step intended, never against one fixed number. Chi-squared is reported per stage, descriptive.
import {
  type AnalysisPolicy,
  reported,
  type SrmResult,
  type StageArms,
  type StageSplitResult,
} from './analysis-policy.js';
import { chiSquaredGoodnessOfFit } from './chi-squared-goodness-of-fit.js';
import { sequentialSampleRatioLogBayesFactor } from './sequential-sample-ratio-test.js';
import { stitchLogEvidence } from './stage-stitching.js';

function percent(x: number): string {
  return `${Number((x * 100).toFixed(2))}%`;
}

function stageSplit(
  stage: StageArms,
  index: number,
  policy: AnalysisPolicy,
): { result: StageSplitResult; logE: number | null } {
  const requests = stage.splitRequests ?? {
    baseline: stage.baseline.requests,
    canary: stage.canary.requests,
  };
  const total = requests.baseline + requests.canary;
  const observed = total > 0 ? requests.canary / total : NaN;
  const share = stage.canaryShare;
  if (share === null || !(share > 0 && share < 1) || policy.srmAlpha <= 0) {
    return {
      result: {
        stage: index,
        expectedCanaryShare: share,
        requests,
        observedCanaryShare: reported(observed),
        checked: false,
        chiSquaredPValue: null,
        alwaysValidPValue: 1,
        reason:
          share === null
            ? `stage ${index + 1}: no canary share declared, traffic split not checked`
            : !(share > 0 && share < 1)
              ? `stage ${index + 1}: declared canary share ${percent(share)} leaves one arm empty, traffic split not checked`
              : `stage ${index + 1}: traffic-split check disabled (srmAlpha 0)`,
      },
      logE: null,
    };
  }
  const counts = [requests.baseline, requests.canary];
  const shares = [1 - share, share];
  const logE = sequentialSampleRatioLogBayesFactor(counts, shares, policy.srmConcentration);
  const alwaysValidPValue = logE <= 0 ? 1 : Math.exp(-logE);
  return {
    result: {
      stage: index,
      expectedCanaryShare: share,
      requests,
      observedCanaryShare: reported(observed),
      checked: true,
      chiSquaredPValue: total > 0 ? chiSquaredGoodnessOfFit(counts, shares).pValue : 1,
      alwaysValidPValue,
      reason: `stage ${index + 1}: canary share ${Number.isFinite(observed) ? percent(observed) : 'n/a'} vs declared ${percent(share)} (always-valid p=${alwaysValidPValue.toPrecision(2)})`,
    },
    logE,
  };
}

export function evaluateTrafficSplit(
  stages: readonly StageArms[],
  policy: AnalysisPolicy,
  carriedPValue: number,
): SrmResult {
  const results = stages.map((s, i) => stageSplit(s, i, policy));
  const checked = results.filter((r) => r.logE !== null);
  const stitched = stitchLogEvidence(checked.map((r) => r.logE as number));
  const instant = stitched <= 0 ? 1 : Math.exp(-stitched);
  const alwaysValidPValue = checked.length > 0 ? Math.min(carriedPValue, instant) : carriedPValue;
  const current = results[results.length - 1].result;
  return {
    expectedCanaryShare: current.expectedCanaryShare,
    observedCanaryShare: current.observedCanaryShare,
    chiSquaredPValue: current.chiSquaredPValue,
    alwaysValidPValue,
    mismatch: policy.srmAlpha > 0 && alwaysValidPValue <= policy.srmAlpha,
    checked: checked.length > 0,
    stages: results.map((r) => r.result),
  };
}
