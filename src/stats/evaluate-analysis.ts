// The decision policy for one analysis, called by the judge once per tick with the two arms, the metric
// specs, the policy and the state it carried from the previous tick. Pure: same inputs, same output.
//
// Rules (each one tested in test/stats/evaluate-analysis.test.ts):
// - alpha is split: srmAlpha for the traffic split, alpha - srmAlpha for the metrics, across which fail
//   decisions use Holm's procedure on the running-minimum always-valid p-values (family-wise error <= alpha).
//   Each metric's reported anytime-valid bounds are at the Bonferroni level (alpha - srmAlpha) / m.
// - A metric's evidence only counts once both arms have its minimum samples; before that its running minima
//   stay at 1 (the plug-in variance of the error-rate test is asymptotic; tiny samples must not lock in a
//   p-value). An empty arm therefore means `running`.
// - fail: Holm rejects "canary no worse than tolerance" for the metric. pass: the running minimum of the
//   "within tolerance" p-value is <= (alpha - srmAlpha) / m, so the reported bounds show it (upper bound
//   inside tolerance). An intersection-union test would allow alpha - srmAlpha here; the stricter level keeps
//   the evidence and the decision in agreement. fail takes precedence over pass.
// - The traffic split fails the analysis when its running always-valid p-value is <= srmAlpha: a mismatched
//   split makes every other comparison untrustworthy.
// - Analysis: fail if the split or any metric fails; pass if every metric passes; else running.
import type { ArmState } from '../accumulate/arm-state.js';
import type {
  AnalysisEvaluation,
  AnalysisPolicy,
  AnalysisSequentialState,
  Decision,
  MetricResult,
  MetricSpec,
  SrmResult,
} from './analysis-policy.js';
import { summarizeArm } from './arm-summary.js';
import { chiSquaredGoodnessOfFit } from './chi-squared-goodness-of-fit.js';
import { holmRejections } from './holm.js';
import {
  errorRateEvidence,
  latencyFixedHorizon,
  latencyQuantileEvidence,
  type LatencyViews,
  type MetricEvidence,
} from './metric-evidence.js';
import { rankedBuckets } from './ranked-buckets.js';
import { explainMetric } from './result-reasons.js';
import { sequentialSampleRatioPValue } from './sequential-sample-ratio-test.js';
import { tiedSampleOfHistogram } from './tied-sample.js';

export interface AnalysisArmsInput {
  baseline: ArmState;
  canary: ArmState;
}

function evaluateSrm(arms: AnalysisArmsInput, policy: AnalysisPolicy, carried: number): SrmResult {
  const counts = [arms.baseline.requests, arms.canary.requests];
  const shares = [1 - policy.canaryShare, policy.canaryShare];
  const total = counts[0] + counts[1];
  const instant =
    policy.srmAlpha > 0 ? sequentialSampleRatioPValue(counts, shares, policy.srmConcentration) : 1;
  const alwaysValidPValue = Math.min(carried, instant);
  return {
    expectedCanaryShare: policy.canaryShare,
    observedCanaryShare: total > 0 ? counts[1] / total : NaN,
    chiSquaredPValue: chiSquaredGoodnessOfFit(counts, shares).pValue,
    alwaysValidPValue,
    mismatch: policy.srmAlpha > 0 && alwaysValidPValue <= policy.srmAlpha,
  };
}

export function evaluateAnalysis(
  arms: AnalysisArmsInput,
  metrics: MetricSpec[],
  policy: AnalysisPolicy,
  carried: AnalysisSequentialState,
): AnalysisEvaluation {
  if (new Set(metrics.map((m) => m.id)).size !== metrics.length) {
    throw new RangeError('metric ids must be unique within an analysis: they key the carried state');
  }
  const metricsAlpha = policy.alpha - Math.max(0, policy.srmAlpha);
  const decisionAlpha = metricsAlpha / Math.max(1, metrics.length);
  const intervals = policy.evidence === 'full';
  const baselineSummary = summarizeArm(arms.baseline, policy.reportConfidence, intervals);
  const canarySummary = summarizeArm(arms.canary, policy.reportConfidence, intervals);
  const srm = evaluateSrm(arms, policy, carried.srmPValue);

  let views: LatencyViews | undefined;
  const latencyViews = (): LatencyViews => {
    if (!views) {
      const full = policy.evidence === 'full';
      const canaryTied = full ? tiedSampleOfHistogram(arms.canary.latency) : { values: [], counts: [] };
      const baselineTied = full ? tiedSampleOfHistogram(arms.baseline.latency) : { values: [], counts: [] };
      views = {
        canaryRanks: rankedBuckets(arms.canary.latency),
        baselineRanks: rankedBuckets(arms.baseline.latency),
        canaryTied,
        baselineTied,
        fixedHorizon: latencyFixedHorizon(canaryTied, baselineTied, policy),
      };
    }
    return views;
  };

  const state: AnalysisSequentialState = { version: 1, metrics: {}, srmPValue: srm.alwaysValidPValue };
  const evidence: MetricEvidence[] = [];
  const sufficient: boolean[] = [];
  for (const spec of metrics) {
    const e =
      spec.kind === 'error_rate'
        ? errorRateEvidence(arms.canary, arms.baseline, spec, policy, decisionAlpha)
        : latencyQuantileEvidence(latencyViews(), spec, policy, decisionAlpha);
    const minSamples = spec.minSamples ?? policy.minSamplesPerArm;
    const enough = e.samples.canary >= minSamples && e.samples.baseline >= minSamples;
    const before = carried.metrics[spec.id] ?? { worsePValue: 1, withinPValue: 1 };
    state.metrics[spec.id] = enough
      ? {
          worsePValue: Math.min(before.worsePValue, e.worsePValue),
          withinPValue: Math.min(before.withinPValue, e.withinPValue),
        }
      : before;
    evidence.push(e);
    sufficient.push(enough);
  }

  const failed = holmRejections(
    metrics.map((s) => state.metrics[s.id].worsePValue),
    metricsAlpha,
  );
  const results: MetricResult[] = metrics.map((spec, i) => {
    const s = state.metrics[spec.id];
    const decision: Decision = failed[i]
      ? 'fail'
      : sufficient[i] && s.withinPValue <= decisionAlpha
        ? 'pass'
        : 'running';
    const result: MetricResult = {
      id: spec.id,
      kind: spec.kind,
      quantile: spec.quantile,
      tolerance: spec.tolerance,
      baseline: baselineSummary,
      canary: canarySummary,
      effect: evidence[i].effect,
      fixedHorizon: evidence[i].fixedHorizon,
      alwaysValidPValue: s.worsePValue,
      withinPValue: s.withinPValue,
      minSamplesMet: sufficient[i],
      decision,
      reason: '',
    };
    result.reason = explainMetric(result, evidence[i].samples, spec.minSamples ?? policy.minSamplesPerArm);
    return result;
  });

  let decision: Decision = 'running';
  let reason: string;
  const firstFail = results.find((r) => r.decision === 'fail');
  if (srm.mismatch) {
    decision = 'fail';
    reason = `traffic split mismatch: canary share ${(srm.observedCanaryShare * 100).toFixed(2)}% vs expected ${(policy.canaryShare * 100).toFixed(2)}% (always-valid p=${srm.alwaysValidPValue.toPrecision(2)})`;
  } else if (firstFail) {
    decision = 'fail';
    reason = firstFail.reason;
  } else if (results.length > 0 && results.every((r) => r.decision === 'pass')) {
    decision = 'pass';
    reason = `all ${results.length} metrics within tolerance`;
  } else {
    const waiting = results.filter((r) => r.decision === 'running').map((r) => r.id);
    reason = `collecting evidence: ${waiting.join(', ') || 'no metrics'} undecided`;
  }
  return {
    decision,
    reason,
    metrics: results,
    srm,
    arms: { baseline: baselineSummary, canary: canarySummary },
    state,
  };
}
