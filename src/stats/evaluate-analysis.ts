// The decision policy for one run of an analysis, called by the judge once per tick with the run's stages
// (oldest first, the last is current), the metric specs, the policy and the state it carried from the
// previous tick. Pure: same inputs, same output.
//
// Rules (each one tested in test/stats/evaluate-analysis.test.ts and test/stats/stages.test.ts):
// - alpha is split: srmAlpha for the traffic split, alpha - srmAlpha for the metrics. The run fails on
//   metrics when the mean of their e-values reaches 1 / (alpha - srmAlpha) (metric-family.ts: never slower
//   than Bonferroni or Holm, faster when metrics move together); a metric is named failed by the e-closure
//   (strong family-wise control). Each metric's reported anytime-valid bounds, and its pass threshold, are at
//   the Bonferroni level (alpha - srmAlpha) / m.
// - Stages are compared within themselves only (stage-stitching.ts): the fail evidence of a metric is every
//   stage's evidence stitched together, so a regression seen at any share counts and a baseline that drifts
//   between stages cannot look like a canary effect; the pass evidence is the current stage's alone, because
//   a pass speaks for the share the canary has now, and its running minimum restarts when a stage begins.
// - A stage's evidence for a metric counts once both arms have the metric's minimum samples in that stage
//   (and, for the error rate, MIN_ERROR_BLOCKS ticks of data for its block variance: error-blocks.ts). An
//   empty arm therefore means `running`.
// - pass: the current stage's "within tolerance" running minimum is <= (alpha - srmAlpha) / m, so the
//   reported bounds show it. fail takes precedence over pass.
// - The traffic split fails the run when its stitched running always-valid p-value is <= srmAlpha; each stage
//   is tested against its own declared share, stages without one are not tested (traffic-split.ts).
// - Run: fail if the split fails or the metrics' joint evidence does; pass if every metric passes; else running.
// - Blocks: every call closes one error block per arm and stage (the counts since the previous call), so the
//   judge calls this once per tick and carries `state` (JSON) into the next call.
import {
  type Effect,
  numeric,
  reported,
  type AnalysisEvaluation,
  type AnalysisPolicy,
  type AnalysisSequentialState,
  type Decision,
  type MetricResult,
  type MetricSpec,
  type SequentialMetricState,
  type SrmResult,
  type StageArms,
  type StageSequentialState,
} from './analysis-policy.js';
import { summarizeArm } from './arm-summary.js';
import { closeBlock, emptyErrorBlocks } from './error-blocks.js';
import { errorRateEvidence } from './error-rate-evidence.js';
import { closedFamilyRejections, closureLogThresholds, familyLogEvidence } from './metric-family.js';
import { latencyMeanEvidence } from './latency-mean-evidence.js';
import { latencyQuantileEvidence } from './latency-quantile-evidence.js';
import { type MetricEvidence, minSamplesOf, StageView } from './metric-evidence.js';
import { EvaluationBuffers } from './evaluation-buffers.js';
import { coarseSummary, explainMetric, flattened } from './result-reasons.js';
import { tenfoldSampleSize } from './tenfold-sample-size.js';
import { evaluateTrafficSplit } from './traffic-split.js';

export type { StageArms } from './analysis-policy.js';

/** A carried state from before stages (version 1) keeps its running minima; its blocks start now. */
function upgrade(
  carried:
    AnalysisSequentialState | { version: 1; metrics: AnalysisSequentialState['metrics']; srmPValue: number },
): AnalysisSequentialState {
  if (carried.version === 2) return carried;
  return { version: 2, metrics: carried.metrics, srmPValue: carried.srmPValue, metricsPValue: 1, stages: [] };
}

function stageState(before: StageSequentialState | undefined, stage: StageArms): StageSequentialState {
  const blocks = before?.errorBlocks ?? { baseline: emptyErrorBlocks(), canary: emptyErrorBlocks() };
  return {
    errorBlocks: {
      baseline: closeBlock(blocks.baseline, stage.baseline.requests, stage.baseline.errors),
      canary: closeBlock(blocks.canary, stage.canary.requests, stage.canary.errors),
    },
    memo: before?.memo && {
      fingerprint: before.memo.fingerprint,
      logEvidence: { ...before.memo.logEvidence },
    },
  };
}

function metricEvidence(
  stages: readonly StageView[],
  spec: MetricSpec,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): MetricEvidence {
  switch (spec.kind) {
    case 'error_rate':
      return errorRateEvidence(stages, spec, policy, decisionAlpha);
    case 'latency_quantile':
      return latencyQuantileEvidence(stages, spec, policy, decisionAlpha);
    case 'latency_mean':
      return latencyMeanEvidence(stages, spec, policy, decisionAlpha);
  }
}

function splitReason(srm: SrmResult): string {
  const worst = srm.stages
    .filter((s) => s.checked)
    .reduce((a, b) => (b.alwaysValidPValue < a.alwaysValidPValue ? b : a));
  return `traffic split mismatch (run always-valid p=${srm.alwaysValidPValue.toPrecision(2)}): ${worst.reason}`;
}

/**
 * A fail on the metrics' joint evidence, no single metric named by the closure: the deciding test is the
 * family's, so the reason gives its p-value and each contributor's own, and no metric's interval (each of those
 * still reaches its tolerance, and shown beside a fail it would contradict it).
 */
export function jointReason(
  results: ReadonlyArray<Pick<MetricResult, 'id' | 'alwaysValidPValue'>>,
  logEvidence: readonly number[],
  pValue: number,
): string {
  const contributors = results
    .map((r, i) => ({ r, l: logEvidence[i] }))
    .filter((x) => x.l > 0)
    .sort((a, b) => b.l - a.l)
    .map((x) => `${x.r.id} p=${x.r.alwaysValidPValue.toPrecision(2)}`);
  return `worse than tolerance on the joint evidence of the metrics (the family's e-value test, always-valid p=${pValue.toPrecision(2)}); no single metric's own bound is past its tolerance yet (${contributors.join(', ')})`;
}

/**
 * The pass bound's running minimum over the stage's counting ticks (null: +Infinity), given the carried one;
 * unchanged while the pass evidence does not count (too few samples, error blocks still missing).
 */
function runningUpper(carried: number | null | undefined, e: MetricEvidence): number | null | undefined {
  if (!e.minSamplesMet || e.waiting) return carried;
  const upper = numeric(e.effect.upper);
  if (Number.isNaN(upper)) return carried;
  const known = carried === undefined ? Infinity : carried === null ? Infinity : carried;
  const min = Math.min(known, upper);
  return Number.isFinite(min) ? min : null;
}

/** The closure's alpha for a metric, snapped to the Bonferroni share when it is that (rounding aside). */
function levelAlpha(alpha: number, decisionAlpha: number, metricsAlpha: number): number {
  if (Math.abs(alpha / decisionAlpha - 1) < 1e-9) return decisionAlpha;
  return Math.min(metricsAlpha, Math.max(decisionAlpha, alpha));
}

/**
 * The effect with the bounds of the tests that decide (analysis-policy.ts, Effect). The fail bound's search
 * starts from the one carried from the last tick, and the one found is carried in `s` for the next.
 */
function decidingEffect(
  e: MetricEvidence,
  s: SequentialMetricState,
  lowerAlpha: number,
  previousLower: number | undefined,
): Effect {
  const counting = e.minSamplesMet && !e.waiting;
  const upper = counting && s.upper !== undefined ? (s.upper === null ? Infinity : s.upper) : undefined;
  const lower = e.lowerBoundAt(lowerAlpha, previousLower);
  // Carried as the next tick's warm start, for the bound that is searched (the quantile ratio's bisection;
  // the other bounds ignore it); a finite positive ratio (JSON has no Infinity).
  if (e.effect.lowerTest === 'two-sample-quantile-mixture' && Number.isFinite(lower) && lower > 0) {
    s.lower = lower;
  }
  return {
    ...e.effect,
    lower: reported(lower),
    lowerLevel: 1 - lowerAlpha,
    upper: upper === undefined ? e.effect.upper : reported(upper),
  };
}

/** Reused by every evaluation (evaluation-buffers.ts): one evaluation runs at a time, and returns no view. */
const evaluationBuffers = new EvaluationBuffers();

export function evaluateAnalysis(
  stages: readonly StageArms[],
  metrics: MetricSpec[],
  policy: AnalysisPolicy,
  carried: AnalysisSequentialState,
): AnalysisEvaluation {
  if (stages.length === 0) throw new RangeError('a run has at least one stage (the current one)');
  if (new Set(metrics.map((m) => m.id)).size !== metrics.length) {
    throw new RangeError('metric ids must be unique within an analysis: they key the carried state');
  }
  const before = upgrade(carried);
  const newStage = before.stages.length !== stages.length;
  const metricsAlpha = policy.alpha - Math.max(0, policy.srmAlpha);
  const decisionAlpha = metricsAlpha / Math.max(1, metrics.length);
  const stageStates = stages.map((s, i) => stageState(before.stages[i], s));
  evaluationBuffers.begin();
  const views = stages.map(
    (s, i) => new StageView(i, s, stageStates[i], s.canaryShare ?? policy.canaryShare, evaluationBuffers),
  );
  const current = views[views.length - 1];
  const intervals = policy.evidence === 'full';
  const latency = current.latency();
  const baselineSummary = summarizeArm(
    current.baseline,
    latency.baseline,
    policy.reportConfidence,
    intervals,
  );
  const canarySummary = summarizeArm(current.canary, latency.canary, policy.reportConfidence, intervals);
  const srm = evaluateTrafficSplit(stages, policy, before.srmPValue);

  const evidence = metrics.map((spec) => metricEvidence(views, spec, policy, decisionAlpha));
  const logEvidence = evidence.map((e) => e.worseLogEvidence);
  const joint = familyLogEvidence(logEvidence);
  const state: AnalysisSequentialState = {
    version: 2,
    metrics: {},
    srmPValue: srm.alwaysValidPValue,
    metricsPValue: Math.min(before.metricsPValue, joint > 0 ? Math.exp(-joint) : 1),
    stages: stageStates,
  };
  metrics.forEach((spec, i) => {
    const e = evidence[i];
    const was = before.metrics[spec.id] ?? { worsePValue: 1, withinPValue: 1 };
    const within = newStage ? 1 : was.withinPValue;
    state.metrics[spec.id] = {
      worsePValue: Math.min(was.worsePValue, e.worsePValue),
      withinPValue: Math.min(within, e.withinPValue),
      upper: runningUpper(newStage ? undefined : was.upper, e),
    };
  });
  const lowerAlphas = closureLogThresholds(logEvidence, metricsAlpha).map((t) =>
    levelAlpha(Math.exp(-t), decisionAlpha, metricsAlpha),
  );

  const failed = closedFamilyRejections(logEvidence, metricsAlpha);
  const metricsFail = state.metricsPValue <= metricsAlpha;
  const results: MetricResult[] = metrics.map((spec, i) => {
    const s = state.metrics[spec.id];
    const e = evidence[i];
    const decision: Decision =
      metricsFail && failed[i]
        ? 'fail'
        : e.minSamplesMet && !e.waiting && s.withinPValue <= decisionAlpha
          ? 'pass'
          : 'running';
    const result: MetricResult = {
      id: spec.id,
      kind: spec.kind,
      quantile: spec.quantile,
      tolerance: spec.tolerance,
      baseline: baselineSummary,
      canary: canarySummary,
      effect: decidingEffect(e, s, lowerAlphas[i], before.metrics[spec.id]?.lower),
      fixedHorizon: e.fixedHorizon,
      alwaysValidPValue: s.worsePValue,
      withinPValue: s.withinPValue,
      minSamplesMet: e.minSamplesMet,
      minSamples: minSamplesOf(spec, policy),
      samples: e.samples,
      stagesCounted: e.stagesCounted,
      coarseBuckets: decision === 'running' ? e.coarseBuckets : undefined,
      decision,
      reason: '',
    };
    const tenfold = e.minSamplesMet
      ? undefined
      : tenfoldSampleSize(spec, policy, decisionAlpha, current.tuningShare);
    result.reason = explainMetric(result, e, minSamplesOf(spec, policy), tenfold);
    return result;
  });

  let decision: Decision = 'running';
  let reason: string;
  const firstFail = results.find((r) => r.decision === 'fail');
  const stageNote = stages.length > 1 ? ` in stage ${stages.length}` : '';
  if (srm.mismatch) {
    decision = 'fail';
    reason = splitReason(srm);
  } else if (firstFail) {
    decision = 'fail';
    reason = firstFail.reason;
  } else if (metricsFail) {
    decision = 'fail';
    reason = jointReason(results, logEvidence, state.metricsPValue);
  } else if (results.length > 0 && results.every((r) => r.decision === 'pass')) {
    decision = 'pass';
    reason = `all ${results.length} metrics within tolerance${stageNote}`;
  } else {
    const waiting = results.filter((r) => r.decision === 'running');
    reason = `collecting evidence${stageNote}: ${waiting.map((r) => r.id).join(', ') || 'no metrics'} undecided`;
    reason += coarseSummary(waiting);
  }
  return {
    decision,
    reason: flattened(reason),
    metrics: results,
    metricsPValue: state.metricsPValue,
    srm,
    arms: { baseline: baselineSummary, canary: canarySummary },
    stageCount: stages.length,
    state,
  };
}
