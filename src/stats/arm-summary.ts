// Per-arm evidence for people: counts, error rate, mean latency and p50/p90/p95/p99 with fixed-horizon
// order-statistic intervals at the outer bucket edges (quantile-confidence-interval.ts).
import type { ArmState } from '../accumulate/arm-state.js';
import { type ArmSummary, reported } from './analysis-policy.js';
import type { ArmLatency } from './arm-latency.js';
import { quantileConfidenceInterval } from './quantile-confidence-interval.js';

export const REPORTED_QUANTILES = [0.5, 0.9, 0.95, 0.99];

/** With `intervals` false only the point estimates are computed (the intervals cost O(sqrt n) each). */
export function summarizeArm(
  arm: ArmState,
  latency: ArmLatency,
  confidence: number,
  intervals = true,
): ArmSummary {
  return {
    requests: arm.requests,
    errors: arm.errors,
    errorRate: arm.requests > 0 ? arm.errors / arm.requests : NaN,
    latencySamples: latency.n,
    coarseLatencySamples: latency.coarseCount,
    meanNanos: reported(latency.valuesWithoutSum === 0 && latency.n > 0 ? latency.sumNanos / latency.n : NaN),
    quantiles: REPORTED_QUANTILES.map((q) => {
      if (!intervals) {
        const estimateNanos = latency.quantileEstimate(q);
        return { quantile: q, estimateNanos, lowerNanos: NaN, upperNanos: NaN };
      }
      const ci = quantileConfidenceInterval(latency, q, confidence);
      return {
        quantile: q,
        estimateNanos: ci.estimateNanos,
        lowerNanos: ci.lowerNanos,
        upperNanos: ci.upperNanos,
      };
    }),
  };
}
