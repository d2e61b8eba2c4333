// Latency-mean evidence for one metric: each arm's exact mean and bucketed variance bound per stage
// (censored-variance.ts), the stratified anytime-valid ratio test (latency-mean-test.ts) over the stages with
// enough latencies, and words for what keeps it from deciding (missing sums, an open overflow bucket).
import { type AnalysisPolicy, type MetricSpec, reported } from './analysis-policy.js';
import type { ArmLatency } from './arm-latency.js';
import { censoredVarianceBound } from './censored-variance.js';
import { type MeanArm, meanRatioLowerBound, meanRatioTest, type MeanStage } from './latency-mean-test.js';
import { type MetricEvidence, minSamplesOf, type StageView } from './metric-evidence.js';
import type { NormalMixturePrior } from './normal-mixture.js';

/**
 * The mixture over the gap beyond log(1 + tolerance), in log-ratio units: 0.8 centred on a gap of the
 * tolerance's size (a canary (1 + tol)^2 times slower is caught fastest; 0.1 with tolerance 0) with half that
 * spread, 0.2 on a wide half-normal of scale 1 (a canary e times slower) for gross regressions.
 */
export function latencyMeanPrior(spec: MetricSpec): NormalMixturePrior {
  const gap = spec.tolerance > 0 ? Math.log1p(spec.tolerance) : 0.1;
  return [
    { weight: 0.8, centre: gap, sd: gap / 2 },
    { weight: 0.2, centre: 0, sd: 1 },
  ];
}

interface ArmMean extends MeanArm {
  openValues: number;
  openFromNanos: number;
  withoutSum: number;
}

function armMean(a: ArmLatency): ArmMean {
  const bound = censoredVarianceBound(a.intervals, a.sumNanos);
  let openFromNanos = Infinity;
  for (const i of a.intervals)
    if (i.upperNanos === Infinity) openFromNanos = Math.min(openFromNanos, i.lowerNanos);
  return {
    n: a.n,
    sumNanos: a.sumNanos,
    varianceBound: bound.variance,
    openValues: bound.openValues,
    openFromNanos,
    withoutSum: a.valuesWithoutSum,
  };
}

function millis(nanos: number): string {
  return `${Number((nanos / 1e6).toPrecision(4))} ms`;
}

export function latencyMeanEvidence(
  stages: readonly StageView[],
  spec: MetricSpec,
  policy: AnalysisPolicy,
  decisionAlpha: number,
): MetricEvidence {
  const minSamples = minSamplesOf(spec, policy);
  const means = stages.map((stage) => {
    const { canary, baseline } = stage.latency();
    return { canary: armMean(canary), baseline: armMean(baseline) };
  });
  const usable = (m: { canary: ArmMean; baseline: ArmMean }): boolean =>
    m.canary.withoutSum === 0 &&
    m.baseline.withoutSum === 0 &&
    m.canary.n >= minSamples &&
    m.baseline.n >= minSamples;
  const counted: MeanStage[] = means.filter(usable);
  const now = means[means.length - 1];
  const currentUsable = usable(now);
  const prior = latencyMeanPrior(spec);
  const r = meanRatioTest(counted, currentUsable ? now : null, spec.tolerance, decisionAlpha, prior);
  const notes: string[] = [];
  const withoutSum = now.canary.withoutSum + now.baseline.withoutSum;
  if (withoutSum > 0)
    notes.push(`${withoutSum} latencies arrived without a sum, so the mean cannot be compared`);
  const open = now.canary.openValues + now.baseline.openValues;
  if (open > 0) {
    const from = Math.min(now.canary.openFromNanos, now.baseline.openFromNanos);
    notes.push(
      `${open} latencies lie in the open last bucket (> ${millis(from)}) with no max reported, so the variance bound assumes the worst and the mean decides slowly`,
    );
  }
  return {
    effect: {
      scale: 'ratio',
      estimate: reported(r.ratio),
      lower: reported(r.lower),
      upper: reported(r.upper),
      level: 1 - decisionAlpha,
      lowerLevel: 1 - decisionAlpha,
      lowerTest: 'mean-ratio-mixture',
      upperTest: 'mean-ratio-mixture',
    },
    lowerBoundAt: (alpha) => (alpha === decisionAlpha ? r.lower : meanRatioLowerBound(counted, alpha, prior)),
    fixedHorizon: { use: 'descriptive', test: 'none', statistic: NaN, pValue: NaN },
    worsePValue: r.worsePValue,
    worseLogEvidence: r.worseLogEvidence,
    withinPValue: currentUsable ? r.withinPValue : 1,
    samples: { baseline: now.baseline.n, canary: now.canary.n },
    minSamplesMet: now.canary.n >= minSamples && now.baseline.n >= minSamples,
    stagesCounted: counted.length,
    note: notes.length > 0 ? notes.join('; ') : undefined,
  };
}
