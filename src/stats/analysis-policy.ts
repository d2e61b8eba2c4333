// The types of one analysis's statistical policy: what the judge passes in each tick (metric specs, policy
// settings, the carried sequential state) and what it gets back (metric results with their evidence).
// Everything here is plain data: the carried state is JSON-serializable and merges nothing but running minima.
import type { ArmState } from '../accumulate/arm-state.js';

export type MetricKind = 'error_rate' | 'latency_quantile';

export interface MetricSpec {
  /** Stable id, e.g. 'error_rate' or 'latency_p95'; keys the carried state. */
  id: string;
  kind: MetricKind;
  /** For latency_quantile: the judged quantile, e.g. 0.95. */
  quantile?: number;
  /**
   * How much worse the canary may be: absolute for error_rate (0.005 = half a percentage point), relative for
   * latency (0.10 = 10% slower).
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
  /** Expected share of requests in the canary arm, e.g. 0.1. */
  canaryShare: number;
  /** Default per-arm minimum samples for metrics that do not set their own. */
  minSamplesPerArm: number;
  /** Prior scale (tau) of the error-rate difference in the mixture SPRT. */
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

/** Running minima of always-valid p-values: the only state that must survive between ticks. */
export interface SequentialMetricState {
  worsePValue: number;
  withinPValue: number;
}

export interface AnalysisSequentialState {
  version: 1;
  metrics: Record<string, SequentialMetricState>;
  /** Running minimum of each stage's always-valid split p-value, by stage index. */
  srmPValues: number[];
}

export function initialSequentialState(): AnalysisSequentialState {
  return { version: 1, metrics: {}, srmPValues: [] };
}

/** One stage of a run: both arms' evidence while one canary share was intended. */
export interface StageArms {
  baseline: ArmState;
  canary: ArmState;
  /** Declared canary share of this stage, or null when none was declared (its split check is skipped). */
  canaryShare: number | null;
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
  quantiles: QuantileSummary[];
}

export interface Effect {
  /** 'difference' (canary - baseline error rate) or 'ratio' (canary / baseline quantile). */
  scale: 'difference' | 'ratio';
  estimate: number;
  /** Anytime-valid bounds at the metric's decision level (see `level`). */
  lower: number;
  upper: number;
  /** 1 - alpha of the bounds. */
  level: number;
}

export interface FixedHorizonEvidence {
  /** 'skipped' when the policy asked for decisions only. */
  test: 'two-proportion-z' | 'fisher-exact' | 'mann-whitney-u' | 'skipped';
  statistic: number;
  pValue: number;
  /** Latency only: Hodges-Lehmann shift canary - baseline in ns, with its interval at reportConfidence. */
  shiftNanos?: { estimate: number; lower: number; upper: number };
}

export interface MetricResult {
  id: string;
  kind: MetricKind;
  quantile?: number;
  tolerance: number;
  baseline: ArmSummary;
  canary: ArmSummary;
  effect: Effect;
  fixedHorizon: FixedHorizonEvidence;
  /** Running minimum of the always-valid p-value for "canary worse than tolerance". */
  alwaysValidPValue: number;
  /** Running minimum of the always-valid p-value for "canary within tolerance". */
  withinPValue: number;
  minSamplesMet: boolean;
  decision: Decision;
  reason: string;
}

export interface SrmResult {
  /** The stage's declared share; null when none was declared and the check was skipped. */
  expectedCanaryShare: number | null;
  observedCanaryShare: number;
  chiSquaredPValue: number;
  alwaysValidPValue: number;
  mismatch: boolean;
}

export interface AnalysisEvaluation {
  decision: Decision;
  reason: string;
  metrics: MetricResult[];
  /** The current stage's traffic split. */
  srm: SrmResult;
  /** Every stage's traffic split, oldest first. */
  srmByStage: SrmResult[];
  arms: { baseline: ArmSummary; canary: ArmSummary };
  /** Carry this into the next tick's call. */
  state: AnalysisSequentialState;
}
