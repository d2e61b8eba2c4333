// The types of one analysis's statistical policy: what the judge passes in each tick (the run's stages with
// both arms' evidence, metric specs, policy settings, the carried sequential state) and what it gets back
// (metric results with their evidence, per-stage traffic-split results). Everything here is plain data: the
// carried state is JSON-serializable.
import type { ArmState } from '../accumulate/arm-state.js';

export type MetricKind = 'error_rate' | 'latency_quantile' | 'latency_mean';

/** One stage of a run: both arms' evidence while one canary share was intended. */
export interface StageArms {
  baseline: ArmState;
  canary: ArmState;
  /** Declared canary share of this stage, or null when none was declared (its split check is skipped, and the result says so). */
  canaryShare: number | null;
  /**
   * The requests the traffic-split check counts, when not every request of the stage: those after the new
   * weight has had time to take effect (a mesh applies a weight seconds after the controller declares it).
   */
  splitRequests?: { baseline: number; canary: number };
}

export interface MetricSpec {
  /** Stable id, e.g. 'error_rate' or 'latency_p95'; keys the carried state. */
  id: string;
  kind: MetricKind;
  /** For latency_quantile: the judged quantile, e.g. 0.95. */
  quantile?: number;
  /**
   * How much worse the canary may be: absolute for error_rate (0.005 = half a percentage point), relative for
   * latency quantiles and the latency mean (0.10 = 10% slower).
   */
  tolerance: number;
  /** Per-arm minimum before this metric's evidence counts (requests for error_rate, latency samples otherwise). */
  minSamples?: number;
}

export interface AnalysisPolicy {
  /** Family-wise error over the analysis's fail decisions (metrics and traffic split together). */
  alpha: number;
  /** Part of alpha spent on the sequential sample-ratio-mismatch test; 0 disables it. */
  srmAlpha: number;
  /**
   * Tuning hint only: the canary share assumed when a stage declares none, for splitting a latency metric's
   * alpha between the arms and tuning their mixtures (never for the traffic-split check, which tests each
   * stage against its own declared share and skips stages without one).
   */
  canaryShare: number;
  /** Default per-arm minimum samples for metrics that do not set their own. */
  minSamplesPerArm: number;
  /**
   * Prior spread of the error-rate mixture (normal-mixture.ts) when the tolerance is 0; otherwise the prior is
   * centred on gaps of the size of the tolerance (error-rate-evidence.ts).
   */
  errorRateMixtureSd: number;
  /**
   * Canary-arm sample size at which the quantile confidence sequences are tightest; the baseline's is tuned
   * for the samples it holds by then, (1 - canaryShare) / canaryShare times as many.
   */
  quantileTunedForSamples: number;
  /** Dirichlet prior concentration of the sequential SRM test. */
  srmConcentration: number;
  /** Confidence of the fixed-horizon intervals reported for people (not used for decisions). */
  reportConfidence: number;
  /**
   * 'full' reports every piece of evidence; 'decisions-only' skips what decisions never read (order-statistic
   * intervals of the arm summaries, Mann-Whitney U and Hodges-Lehmann), for simulations that evaluate
   * thousands of runs. Decisions, bounds and p-values are identical in both modes.
   */
  evidence: 'full' | 'decisions-only';
}

export const DEFAULT_POLICY: AnalysisPolicy = {
  alpha: 0.01,
  srmAlpha: 0.001,
  canaryShare: 0.1,
  minSamplesPerArm: 200,
  errorRateMixtureSd: 0.01,
  quantileTunedForSamples: 1000,
  srmConcentration: 1000,
  reportConfidence: 0.95,
  evidence: 'full',
};

/** Default judged metrics: error rate and latency p50/p95/p99. */
export const DEFAULT_METRICS: MetricSpec[] = [
  { id: 'error_rate', kind: 'error_rate', tolerance: 0.005 },
  { id: 'latency_p50', kind: 'latency_quantile', quantile: 0.5, tolerance: 0.1 },
  { id: 'latency_p95', kind: 'latency_quantile', quantile: 0.95, tolerance: 0.1 },
  { id: 'latency_p99', kind: 'latency_quantile', quantile: 0.99, tolerance: 0.1 },
];

/**
 * Running minima of always-valid p-values. `worsePValue` covers the whole run (the fail evidence is stitched
 * across stages); `withinPValue` covers the current stage only (a pass speaks for the share the canary has
 * now) and restarts at 1 when a stage begins.
 */
export interface SequentialMetricState {
  worsePValue: number;
  withinPValue: number;
  /**
   * Running minimum of the pass test's upper bound over the current stage's ticks on which the pass evidence
   * counted (a running intersection of a confidence sequence is one too); null for +Infinity (JSON has none).
   * Absent in states carried from before it was kept.
   */
  upper?: number | null;
  /**
   * A latency quantile's fail bound reported last tick, when finite and positive: a warm start for the next
   * tick's search (quantile-fail-bound.ts), not evidence. Absent in states carried from before it was kept.
   */
  lower?: number;
}

/** One arm's error counts at the last evaluation and the sums over its per-tick blocks (error-blocks.ts). */
export interface ErrorBlockState {
  requests: number;
  errors: number;
  blocks: number;
  sumRequestsSquared: number;
  sumErrorsSquared: number;
  sumRequestsErrors: number;
}

/** What one stage carries from tick to tick. */
export interface StageSequentialState {
  errorBlocks: { baseline: ErrorBlockState; canary: ErrorBlockState };
  /**
   * A finished stage's costly evidence (log e-values of its quantile tests, by metric), valid while its arms
   * still match `fingerprint`; recomputed when late data changes them. A pure memo: decisions are the same
   * without it.
   */
  memo?: { fingerprint: string; logEvidence: Record<string, number> };
}

export interface AnalysisSequentialState {
  version: 2;
  metrics: Record<string, SequentialMetricState>;
  /** Running minimum of the run's stitched traffic-split p-value. */
  srmPValue: number;
  /** Running minimum of the metrics' joint p-value (1 / mean of their e-values: metric-family.ts). */
  metricsPValue: number;
  /** One entry per stage evaluated so far, oldest first. */
  stages: StageSequentialState[];
}

export function initialSequentialState(): AnalysisSequentialState {
  return { version: 2, metrics: {}, srmPValue: 1, metricsPValue: 1, stages: [] };
}

export type Decision = 'fail' | 'pass' | 'running';

export interface QuantileSummary {
  quantile: number;
  estimateNanos: number;
  /** Fixed-horizon order-statistic interval at reportConfidence (NaN when evidence is 'decisions-only'). */
  lowerNanos: number;
  upperNanos: number;
}

export interface ArmSummary {
  requests: number;
  errors: number;
  errorRate: number;
  latencySamples: number;
  /** Latencies known only to coarse buckets (explicit or low-scale exponential points). */
  coarseLatencySamples: number;
  /** Mean latency from the exact sums, when every latency came with one; else 'undefined'. */
  meanNanos: ReportedNumber;
  quantiles: QuantileSummary[];
}

/**
 * A number as reported: non-finite values are spelled out ('Infinity', '-Infinity', 'undefined' for NaN) so
 * that JSON, which has neither, does not turn an unbounded ratio into null.
 */
export type ReportedNumber = number | 'Infinity' | '-Infinity' | 'undefined';

/** The anytime-valid tests whose bounds a metric reports. */
export type EffectTest =
  'error-rate-mixture' | 'mean-ratio-mixture' | 'two-sample-quantile-mixture' | 'per-arm-quantile-sequences';

export interface Effect {
  /** 'difference' (canary - baseline error rate) or 'ratio' (canary / baseline quantile or mean). */
  scale: 'difference' | 'ratio';
  /** The current stage's estimate. */
  estimate: ReportedNumber;
  /**
   * The bounds of the tests that decide, each on its side, so the evidence shown is the evidence that decided
   * (never an interval that contradicts the verdict):
   * - `lower` is the fail test's bound (`lowerTest`, over every counted stage: a lower bound on the worst
   *   stage's effect) at `lowerLevel`, the level the metric family's e-closure asks of this metric at this
   *   tick (metric-family.ts closureLogThresholds). It reaches the tolerance exactly when the metric fails.
   * - `upper` is the pass test's bound (`upperTest`, the current stage) at `level`, the running minimum over
   *   the ticks of the stage on which the metric's pass evidence counted. It falls below the tolerance
   *   exactly when the metric passes (once the metric's minimum samples are met).
   */
  lower: ReportedNumber;
  upper: ReportedNumber;
  /** 1 - alpha of `upper`: the metric's Bonferroni share of the metrics' alpha. */
  level: number;
  /** 1 - alpha of `lower`: between `level` (other metrics show no evidence) and 1 - the metrics' alpha. */
  lowerLevel: number;
  lowerTest: EffectTest;
  upperTest: EffectTest;
}

export interface FixedHorizonEvidence {
  /**
   * Always 'descriptive': a fixed-horizon test, valid for one look at a sample size fixed in advance. Checked
   * every tick it raises false alarms far beyond its nominal level; never gate a rollout on it (the decision
   * and `alwaysValidPValue` are the anytime-valid ones).
   */
  use: 'descriptive';
  /** 'skipped' when the policy asked for decisions only; 'none' for the latency mean (no such test reported). */
  test: 'two-proportion-z' | 'fisher-exact' | 'mann-whitney-u' | 'skipped' | 'none';
  statistic: number;
  pValue: number;
  /** Latency only: Hodges-Lehmann shift canary - baseline in ns, with its interval at reportConfidence. */
  shiftNanos?: { estimate: number; lower: number; upper: number };
  /**
   * Latency only, what the rank tests ran on: 'buckets' = the accumulator's bucket representatives (within
   * 0.54% of the raw latencies; equal to SciPy/R on that bucketed sample); 'coarse-buckets' = some values are
   * known only to explicit or coarse exponential buckets, so the tests describe one representative per
   * bucket, not the raw latencies. The current stage's data.
   */
  sample?: 'buckets' | 'coarse-buckets';
}

/** Why a latency metric cannot be decided at its tolerance from coarse buckets. */
export interface CoarseBucketsNote {
  /** Outer edges (ns) of the bucket holding the judged statistic in each arm's current stage. */
  canaryNanos: [ReportedNumber, ReportedNumber];
  baselineNanos: [ReportedNumber, ReportedNumber];
  /** Upper edge over lower edge of those buckets (the best ratio precision these data can ever give). */
  widthRatio: ReportedNumber;
}

export interface MetricResult {
  id: string;
  kind: MetricKind;
  quantile?: number;
  tolerance: number;
  /** The current stage's arms. */
  baseline: ArmSummary;
  canary: ArmSummary;
  effect: Effect;
  fixedHorizon: FixedHorizonEvidence;
  /** Running minimum of the always-valid p-value for "canary worse than tolerance" (the whole run). */
  alwaysValidPValue: number;
  /** Running minimum of the always-valid p-value for "canary within tolerance" (the current stage). */
  withinPValue: number;
  /** The current stage has the minimum samples in both arms. */
  minSamplesMet: boolean;
  /** Per-arm samples the metric needs in the current stage before it may pass (its minSamples). */
  minSamples: number;
  /** The current stage's samples per arm as this metric counts them (requests for the error rate, latencies otherwise). */
  samples: { baseline: number; canary: number };
  /** Stages whose evidence entered the fail test (those with the minimum samples in both arms). */
  stagesCounted: number;
  /** Set when the buckets are too coarse for this tolerance: no data of this resolution can pass it. */
  coarseBuckets?: CoarseBucketsNote;
  decision: Decision;
  reason: string;
}

/** One stage's traffic split against its declared share. */
export interface StageSplitResult {
  /** 0-based position of the stage in the run. */
  stage: number;
  /** Null when the stage declared none: then nothing is tested and `checked` is false. */
  expectedCanaryShare: number | null;
  requests: { baseline: number; canary: number };
  observedCanaryShare: ReportedNumber;
  checked: boolean;
  /** Chi-squared goodness of fit: descriptive only (see FixedHorizonEvidence.use); null when not checked. */
  chiSquaredPValue: number | null;
  /** This stage's own sequential test (Dirichlet-multinomial Bayes factor); 1 when not checked. */
  alwaysValidPValue: number;
  reason: string;
}

/** The run's traffic split: every checked stage's sequential evidence, stitched (stage-stitching.ts). */
export interface SrmResult {
  /** The current stage's declared share, or null when it declared none. */
  expectedCanaryShare: number | null;
  /** The current stage's observed share. */
  observedCanaryShare: ReportedNumber;
  /** The current stage's chi-squared p-value, descriptive only; null when it is not checked. */
  chiSquaredPValue: number | null;
  /** Running minimum of the stitched always-valid p-value over every checked stage. */
  alwaysValidPValue: number;
  mismatch: boolean;
  /** False when no stage declared a share: the split is not checked at all. */
  checked: boolean;
  stages: StageSplitResult[];
}

export interface AnalysisEvaluation {
  decision: Decision;
  reason: string;
  metrics: MetricResult[];
  /**
   * Always-valid p-value (running minimum) of "some metric is worse than its tolerance": 1 / the mean of the
   * metrics' e-values (metric-family.ts). The run fails on metrics when it is <= alpha - srmAlpha.
   */
  metricsPValue: number;
  srm: SrmResult;
  /** The current stage's arms. */
  arms: { baseline: ArmSummary; canary: ArmSummary };
  /** Stages evaluated, and which one is current (the last). */
  stageCount: number;
  /** Carry this into the next tick's call. */
  state: AnalysisSequentialState;
}

/** A number for a report: finite as is, else spelled out. */
export function reported(x: number): ReportedNumber {
  if (Number.isFinite(x)) return x;
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return 'undefined';
}

/** The numeric value of a reported number (NaN for 'undefined'). */
export function numeric(x: ReportedNumber): number {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  return NaN;
}
