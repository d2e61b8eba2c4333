// Per-arm evidence for people: counts, error rate and p50/p90/p95/p99 with fixed-horizon order-statistic
// intervals (quantile-confidence-interval.ts).
import type { ArmState } from '../accumulate/arm-state.js';
import type { ArmSummary } from './analysis-policy.js';
import { quantileConfidenceInterval } from './quantile-confidence-interval.js';

export const REPORTED_QUANTILES = [0.5, 0.9, 0.95, 0.99];

/** With `intervals` false only the point estimates are computed (the intervals cost O(sqrt n) each). */
export function summarizeArm(arm: ArmState, confidence: number, intervals = true): ArmSummary {
  return {
    requests: arm.requests,
    errors: arm.errors,
    errorRate: arm.requests > 0 ? arm.errors / arm.requests : NaN,
    latencySamples: arm.latency.count,
    quantiles: REPORTED_QUANTILES.map((q) => {
      if (!intervals)
        return { quantile: q, estimateNanos: arm.latency.quantile(q), lowerNanos: NaN, upperNanos: NaN };
      const ci = quantileConfidenceInterval(arm.latency, q, confidence);
      return {
        quantile: q,
        estimateNanos: ci.estimateNanos,
        lowerNanos: ci.lowerNanos,
        upperNanos: ci.upperNanos,
      };
    }),
  };
}
