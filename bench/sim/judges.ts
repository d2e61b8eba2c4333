// The decision rules compared in the detection benchmark and the A/A simulation test.
import { ArmState } from '../../src/accumulate/arm-state.js';
import {
  type AnalysisPolicy,
  type AnalysisSequentialState,
  type MetricSpec,
  initialSequentialState,
} from '../../src/stats/analysis-policy.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';
import { normalQuantile } from '../../src/stats/normal-distribution.js';
import { orderStatisticRanks } from '../../src/stats/quantile-confidence-interval.js';
import type { SimulatedJudge, TickData } from './canary-simulation.js';

/**
 * canary-judge's own policy: anytime-valid decisions via evaluateAnalysis, state carried between ticks, with
 * the evidence stratified by stage ('stages', what the judge does) or pooled over the whole run into one
 * stage with no declared share ('pooled', to show what stratification prevents).
 */
export function anytimeValidJudge(
  metrics: MetricSpec[],
  policy: AnalysisPolicy,
  evidence: 'stages' | 'pooled' = 'stages',
): SimulatedJudge {
  let state: AnalysisSequentialState = initialSequentialState();
  return {
    name: 'anytime-valid (canary-judge)',
    observe(tick: TickData): boolean {
      const stages =
        evidence === 'stages'
          ? tick.stages.map((s) => ({ baseline: s.baseline, canary: s.canary, canaryShare: s.declaredShare }))
          : [{ ...tick.cumulative, canaryShare: null }];
      const r = evaluateAnalysis(stages, metrics, policy, state);
      state = r.state;
      return r.decision === 'fail';
    },
  };
}

/**
 * The same judge, recording its first pass, whether it passed during the run's last stage, and whether the
 * traffic split ever failed (for the healthy-ramp acceptance); `observe` still returns true only on fail.
 */
export function anytimeValidOutcomeJudge(
  metrics: MetricSpec[],
  policy: AnalysisPolicy,
  name: string,
  lastStage: number,
): SimulatedJudge & { firstPassSeconds: number | null; passedInLastStage: boolean; splitFailed: boolean } {
  let state: AnalysisSequentialState = initialSequentialState();
  const judge = {
    name,
    firstPassSeconds: null as number | null,
    passedInLastStage: false,
    splitFailed: false,
    observe(tick: TickData): boolean {
      const stages = tick.stages.map((s) => ({
        baseline: s.baseline,
        canary: s.canary,
        canaryShare: s.declaredShare,
      }));
      const r = evaluateAnalysis(stages, metrics, policy, state);
      state = r.state;
      if (r.srm.mismatch) judge.splitFailed = true;
      if (r.decision === 'pass') {
        judge.firstPassSeconds ??= tick.elapsedSeconds;
        if (tick.stages.length - 1 === lastStage) judge.passedInLastStage = true;
      }
      return r.decision === 'fail';
    },
  };
  return judge;
}

/**
 * The same questions asked with fixed-horizon tests at every tick (what a naive continuous judge does):
 * error rate by a one-sided Wald z-test of (difference - tolerance), latency quantiles by order-statistic
 * confidence intervals (canary lower / baseline upper > 1 + tolerance). Each metric is tested at alpha / m
 * (`bonferroni`, so only the peeking differs from canary-judge) or at alpha (no multiplicity correction).
 */
export function repeatedFixedHorizonJudge(
  metrics: MetricSpec[],
  alpha: number,
  minSamples: number,
  bonferroni = true,
): SimulatedJudge {
  const a = bonferroni ? alpha / metrics.length : alpha;
  return {
    name: bonferroni ? 'repeated fixed-horizon (alpha/m)' : 'repeated fixed-horizon (alpha per metric)',
    observe({ cumulative: { baseline, canary } }: TickData): boolean {
      if (Math.min(baseline.requests, canary.requests) < minSamples) return false;
      return metrics.some((m) => {
        if (m.kind === 'error_rate') {
          const pc = canary.errors / canary.requests;
          const pb = baseline.errors / baseline.requests;
          const se = Math.sqrt((pc * (1 - pc)) / canary.requests + (pb * (1 - pb)) / baseline.requests);
          return se > 0 && (pc - pb - m.tolerance) / se > -normalQuantile(a);
        }
        const q = m.quantile ?? 0.5;
        const c = orderStatisticRanks(canary.latency.count, q, 1 - a);
        const b = orderStatisticRanks(baseline.latency.count, q, 1 - a);
        if (c.lowerRank < 1 || b.upperRank > baseline.latency.count) return false;
        const lower = canary.latency.bucketAtRank(c.lowerRank)?.lowerNanos ?? 0;
        const upper = baseline.latency.bucketAtRank(b.upperRank)?.upperNanos ?? Infinity;
        return lower / upper > 1 + m.tolerance;
      });
    },
  };
}

/**
 * Flagger-style analysis: every `intervalSeconds`, check the canary alone over that interval against fixed
 * thresholds (error rate, latency quantile); roll back after `threshold` failed checks (Flagger's
 * `analysis.interval`, `analysis.threshold`, metric `thresholdRange.max`).
 */
export function flaggerStyleJudge(opts: {
  intervalSeconds: number;
  threshold: number;
  maxErrorRate: number;
  latencyQuantile: number;
  maxLatencyNanos: number;
}): SimulatedJudge {
  let window = new ArmState();
  let windowStart = 0;
  let failedChecks = 0;
  return {
    name: 'flagger-style threshold',
    observe(tick: TickData): boolean {
      window.mergeFrom(tick.delta.canary);
      if (tick.elapsedSeconds - windowStart < opts.intervalSeconds) return false;
      const errorRate = window.requests > 0 ? window.errors / window.requests : 0;
      const latency = window.latency.quantile(opts.latencyQuantile);
      if (errorRate > opts.maxErrorRate || latency > opts.maxLatencyNanos) failedChecks++;
      window = new ArmState();
      windowStart = tick.elapsedSeconds;
      return failedChecks >= opts.threshold;
    },
  };
}
