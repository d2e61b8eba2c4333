// The demo's numbers in one place: traffic, rollout stages, how the new checkout flow behaves, and the
// analysis canary-judge runs. They were chosen with the judge's real statistics (anytime-valid, alpha 0.01):
// at 250 requests/s the bad change fails about 10 s after it regresses and the healthy one passes in under
// 30 s (usually during the 25% stage), well inside the 3-minute budget (demo/README.md has measured runs).
// The minimum of 500 requests per arm keeps the 5% stage (~12 canary requests/s) from deciding alone.
import type { AnalysisInput } from '../src/config/analysis.js';
import { FLAG_KEY } from './flag-service.js';

export type DemoMode = 'bad' | 'healthy';

/** Latency is lognormal around a median; errors are independent per request. */
export interface FlowBehaviour {
  medianMs: number;
  sigma: number;
  errorRate: number;
}

export interface RolloutStage {
  percent: number;
  /** How long the stage holds before the next one; the last stage holds until a verdict. */
  holdMs: number;
}

export interface DemoProfile {
  requestsPerSecond: number;
  /**
   * Traffic before the analysis starts (flag at 0%). A fresh process is slower for its first seconds (JIT,
   * connection set-up); judged, that slowness would land almost all in the baseline while the canary share
   * is still 5%, and make the canary look better than it is.
   */
  warmUpMs: number;
  stages: RolloutStage[];
  classic: FlowBehaviour;
  newFlow: FlowBehaviour;
  /** Bad mode: what the new flow turns into, and when (ms after the rollout starts). */
  regression: { afterMs: number; behaviour: FlowBehaviour };
  /** Minimum requests per arm before a metric may pass. */
  minSamplesPerArm: number;
  /** The analysis ends `inconclusive` after this long; keeps the demo inside its budget. */
  maxDurationSeconds: number;
  /** How much higher the canary's error rate may be (absolute: 0.01 = one percentage point). */
  errorRateTolerance: number;
  judgeTickMs: number;
  /** How often the OTel SDKs export (the BatchSpanProcessor default of 5 s would only delay the view). */
  exportDelayMs: number;
}

const CLASSIC: FlowBehaviour = { medianMs: 20, sigma: 0.35, errorRate: 0.01 };

/** What `npm run demo` runs. */
export const STANDARD_PROFILE: DemoProfile = {
  requestsPerSecond: 250,
  warmUpMs: 3_000,
  stages: [
    { percent: 5, holdMs: 10_000 },
    { percent: 25, holdMs: 15_000 },
    { percent: 50, holdMs: Number.POSITIVE_INFINITY },
  ],
  classic: CLASSIC,
  newFlow: { ...CLASSIC },
  // Five seconds into the 25% stage the new flow's payment call degrades: 1.5x slower, 6% errors.
  regression: { afterMs: 15_000, behaviour: { medianMs: 30, sigma: 0.35, errorRate: 0.06 } },
  minSamplesPerArm: 500,
  maxDurationSeconds: 150,
  errorRateTolerance: 0.01,
  judgeTickMs: 1_000,
  exportDelayMs: 500,
};

/** The same rollout compressed, for the e2e tests (same code path, more traffic, shorter stages). */
export const FAST_PROFILE: DemoProfile = {
  ...STANDARD_PROFILE,
  requestsPerSecond: 350,
  warmUpMs: 2_000,
  stages: [
    { percent: 5, holdMs: 4_000 },
    { percent: 25, holdMs: 6_000 },
    { percent: 50, holdMs: Number.POSITIVE_INFINITY },
  ],
  regression: { ...STANDARD_PROFILE.regression, afterMs: 6_000 },
  maxDurationSeconds: 45,
  // Showing a healthy canary's error rate within one point of a 1% baseline takes about 5,000 requests per arm
  // (the block-variance test, src/stats/error-blocks.ts): 40-55 s of the last stage at this rate, against a 45 s
  // limit, so the healthy test was rolled back as inconclusive now and then. Two points need about a quarter of
  // that; the regression (+5 points, 1.5x slower) still fails on both metrics.
  errorRateTolerance: 0.02,
};

export const ANALYSIS_ID = 'checkout-new-flow';
/** Family-wise false-fail probability over every look (the judge's default). */
export const ALPHA = 0.01;
/** Latency quantiles judged, and how much slower the canary may be at each (relative). */
export const LATENCY_QUANTILES = [0.5, 0.95];
export const LATENCY_TOLERANCE = 0.2;

/**
 * The analysis: checkout's server spans, split by the frontend's evaluation of the flag (joined by trace
 * id). The rollout declares each stage's share (5 -> 25 -> 50%), so the traffic split is checked per stage.
 */
export function demoAnalysis(profile: DemoProfile, webhook: { url: string; secret: string }): AnalysisInput {
  return {
    id: ANALYSIS_ID,
    match: { service: 'checkout', spanKind: 'server', spanName: 'POST /checkout' },
    variant: { flag: FLAG_KEY },
    baseline: 'off',
    canary: 'on',
    correlation: { key: 'trace_id', windowMs: 10_000 },
    judge: {
      alpha: ALPHA,
      minSamplesPerArm: profile.minSamplesPerArm,
      maxDurationSeconds: profile.maxDurationSeconds,
      onInconclusive: 'rollback',
    },
    metrics: [
      { name: 'latency', kind: 'latency', quantiles: LATENCY_QUANTILES, tolerance: LATENCY_TOLERANCE },
      { name: 'errors', kind: 'error_rate', tolerance: profile.errorRateTolerance },
    ],
    webhook,
  };
}
