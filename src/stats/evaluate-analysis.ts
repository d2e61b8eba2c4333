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
// - The traffic split is tested per stage against the stage's declared share (skipped where none is declared),
//   stage k at srmAlpha * 6 / (pi^2 k^2); a stage whose running always-valid p-value reaches its level fails
//   the analysis: a mismatched
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
  StageArms,
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

/**
 * Stage k's split test runs at srmAlpha * 6 / (pi^2 k^2): the levels sum to srmAlpha over any number of
 * stages, so the family of per-stage always-valid tests keeps the split's share of alpha.
 */
function stageSrmAlpha(srmAlpha: number, stageIndex: number): number {
  return (srmAlpha * 6) / (Math.PI * Math.PI * (stageIndex + 1) * (stageIndex + 1));
}

function evaluateStageSrm(
  stage: StageArms,
  policy: AnalysisPolicy,
  alpha: number,
  carried: number,
): SrmResult {
  const counts = [stage.baseline.requests, stage.canary.requests];
  const total = counts[0] + counts[1];
  const observedCanaryShare = total > 0 ? counts[1] / total : NaN;
  if (stage.canaryShare === null || policy.srmAlpha <= 0) {
    return {
      expectedCanaryShare: stage.canaryShare,
      observedCanaryShare,
      chiSquaredPValue: NaN,
      alwaysValidPValue: 1,
      mismatch: false,
    };
  }
  const shares = [1 - stage.canaryShare, stage.canaryShare];
  const alwaysValidPValue = Math.min(
    carried,
    sequentialSampleRatioPValue(counts, shares, policy.srmConcentration),
  );
  return {
    expectedCanaryShare: stage.canaryShare,
    observedCanaryShare,
    chiSquaredPValue: chiSquaredGoodnessOfFit(counts, shares).pValue,
    alwaysValidPValue,
    mismatch: alwaysValidPValue <= alpha,
  };
}

/** Both arms over every stage (the metrics' evidence until the comparison is stratified by stage). */
function pooledArms(stages: readonly StageArms[]): { baseline: ArmState; canary: ArmState } {
  if (stages.length === 1) return stages[0];
  const baseline = stages[0].baseline.clone();
  const canary = stages[0].canary.clone();
  for (const stage of stages.slice(1)) {
    baseline.mergeFrom(stage.baseline);
    canary.mergeFrom(stage.canary);
  }
  return { baseline, canary };
}

export function evaluateAnalysis(
  stages: readonly StageArms[],
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
  if (stages.length === 0) throw new RangeError('a run has at least one stage');
  const arms = pooledArms(stages);
  const baselineSummary = summarizeArm(arms.baseline, policy.reportConfidence, intervals);
  const canarySummary = summarizeArm(arms.canary, policy.reportConfidence, intervals);
  const srmByStage = stages.map((stage, i) =>
    evaluateStageSrm(stage, policy, stageSrmAlpha(policy.srmAlpha, i), carried.srmPValues[i] ?? 1),
  );
  const srm = srmByStage[srmByStage.length - 1];
  const srmMismatch = srmByStage.find((stage) => stage.mismatch);

  const evidenceOf = (pair: {
    baseline: ArmState;
    canary: ArmState;
  }): ((spec: MetricSpec) => MetricEvidence) => {
    let views: LatencyViews | undefined;
    const latencyViews = (): LatencyViews => {
      if (!views) {
        const full = policy.evidence === 'full';
        const canaryTied = full ? tiedSampleOfHistogram(pair.canary.latency) : { values: [], counts: [] };
        const baselineTied = full ? tiedSampleOfHistogram(pair.baseline.latency) : { values: [], counts: [] };
        views = {
          canaryRanks: rankedBuckets(pair.canary.latency),
          baselineRanks: rankedBuckets(pair.baseline.latency),
          canaryTied,
          baselineTied,
          fixedHorizon: latencyFixedHorizon(canaryTied, baselineTied, policy),
        };
      }
      return views;
    };
    return (spec) =>
      spec.kind === 'error_rate'
        ? errorRateEvidence(pair.canary, pair.baseline, spec, policy, decisionAlpha)
        : latencyQuantileEvidence(latencyViews(), spec, policy, decisionAlpha);
  };
  // Pass reads the current stage's evidence: each weight step must pass on its own. Fail reads both every
  // stage's evidence and the current stage's (Bonferroni over the two), so a regression that appears at a
  // higher weight is not diluted by the earlier stages.
  const pooledEvidence = evidenceOf(arms);
  const currentEvidence = stages.length > 1 ? evidenceOf(stages[stages.length - 1]) : pooledEvidence;

  const state: AnalysisSequentialState = {
    version: 1,
    metrics: {},
    srmPValues: srmByStage.map((stage) => stage.alwaysValidPValue),
  };
  const evidence: MetricEvidence[] = [];
  const sufficient: boolean[] = [];
  for (const spec of metrics) {
    const e = pooledEvidence(spec);
    const c = currentEvidence === pooledEvidence ? e : currentEvidence(spec);
    const minSamples = spec.minSamples ?? policy.minSamplesPerArm;
    const enough = (x: MetricEvidence) => x.samples.canary >= minSamples && x.samples.baseline >= minSamples;
    const before = carried.metrics[spec.id] ?? { worsePValue: 1, withinPValue: 1 };
    const worse =
      c === e ? e.worsePValue : Math.min(1, 2 * Math.min(e.worsePValue, enough(c) ? c.worsePValue : 1));
    state.metrics[spec.id] = {
      worsePValue: enough(e) ? Math.min(before.worsePValue, worse) : before.worsePValue,
      withinPValue: enough(c) ? Math.min(before.withinPValue, c.withinPValue) : before.withinPValue,
    };
    evidence.push(e);
    sufficient.push(enough(c));
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
  if (srmMismatch) {
    decision = 'fail';
    const stageNumber = srmByStage.indexOf(srmMismatch) + 1;
    reason = `traffic split mismatch in stage ${stageNumber}: canary share ${(srmMismatch.observedCanaryShare * 100).toFixed(2)}% vs declared ${((srmMismatch.expectedCanaryShare ?? NaN) * 100).toFixed(2)}% (always-valid p=${srmMismatch.alwaysValidPValue.toPrecision(2)})`;
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
    srmByStage,
    arms: { baseline: baselineSummary, canary: canarySummary },
    state,
  };
}
