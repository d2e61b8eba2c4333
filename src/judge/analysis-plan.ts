// From an analysis as configured to what the statistics engine evaluates: one MetricSpec per judged
// quantile, latency mean or error rate, and the policy (alpha, minimum samples; the configured canary share is
// only a tuning hint for stages that declare none: the traffic-split check uses each stage's declared share).
import type { Analysis } from '../config/analysis.js';
import type { InconclusiveAction } from '../config/judge-settings.js';
import { DEFAULT_POLICY, type AnalysisPolicy, type MetricSpec } from '../stats/analysis-policy.js';

/** Judged latency quantiles when a latency metric names none (ARCHITECTURE.md: p50, p95, p99). */
export const DEFAULT_QUANTILES = [0.5, 0.95, 0.99] as const;
const DEFAULT_LATENCY_TOLERANCE = 0.1;
const DEFAULT_ERROR_RATE_TOLERANCE = 0.005;

export interface AnalysisPlan {
  metrics: MetricSpec[];
  policy: AnalysisPolicy;
  maxDurationMs: number;
  onInconclusive: InconclusiveAction;
}

/** `latency` at 0.95 becomes `latency_p95`; 0.999 becomes `latency_p99.9`. */
export function quantileMetricId(name: string, quantile: number): string {
  return `${name}_p${Number((quantile * 100).toPrecision(6))}`;
}

export function planAnalysis(analysis: Analysis): AnalysisPlan {
  const metrics: MetricSpec[] = [];
  for (const metric of analysis.metrics) {
    if (metric.kind === 'error_rate') {
      metrics.push({
        id: metric.name,
        kind: 'error_rate',
        tolerance: metric.tolerance ?? DEFAULT_ERROR_RATE_TOLERANCE,
        minSamples: metric.minSamples,
      });
      continue;
    }
    for (const quantile of metric.quantiles ?? DEFAULT_QUANTILES) {
      metrics.push({
        id: quantileMetricId(metric.name, quantile),
        kind: 'latency_quantile',
        quantile,
        tolerance: metric.tolerance ?? DEFAULT_LATENCY_TOLERANCE,
        minSamples: metric.minSamples,
      });
    }
    // Metric points usually arrive as explicit buckets (OTel's defaults are 1.3x-2.5x wide), which no quantile
    // bound can resolve to a 10% tolerance; their exact sum and count can (stats/latency-mean-test.ts).
    if (metric.mean ?? analysis.match.metric !== undefined) {
      metrics.push({
        id: `${metric.name}_mean`,
        kind: 'latency_mean',
        tolerance: metric.tolerance ?? DEFAULT_LATENCY_TOLERANCE,
        minSamples: metric.minSamples,
      });
    }
  }
  const { judge } = analysis;
  return {
    metrics,
    policy: {
      ...DEFAULT_POLICY,
      alpha: judge.alpha,
      srmAlpha: judge.srmAlpha,
      canaryShare: judge.canaryShare ?? DEFAULT_POLICY.canaryShare,
      minSamplesPerArm: judge.minSamplesPerArm,
    },
    maxDurationMs: judge.maxDurationSeconds * 1000,
    onInconclusive: judge.onInconclusive,
  };
}
