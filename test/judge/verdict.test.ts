// The verdict policy and the mapping from configured metrics to judged metric specs.
import { describe, expect, it } from 'vitest';
import { analysisSchema } from '../../src/config/analysis.js';
import { planAnalysis, quantileMetricId } from '../../src/judge/analysis-plan.js';
import { decideVerdict } from '../../src/judge/verdict.js';
import type { AnalysisEvaluation, Decision } from '../../src/stats/analysis-policy.js';

const analysis = analysisSchema.parse({
  id: 'checkout',
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
  metrics: [
    { name: 'latency', kind: 'latency', tolerance: 0.2, quantiles: [0.5, 0.999] },
    { name: 'errors', kind: 'error_rate', minSamples: 500 },
  ],
  judge: { maxDurationSeconds: 600, onInconclusive: 'continue', canaryShare: 0.25 },
});
const plan = planAnalysis(analysis);

function evaluation(decision: Decision, reason = 'why'): AnalysisEvaluation {
  return { decision, reason } as AnalysisEvaluation;
}

describe('planAnalysis', () => {
  it('judges one spec per latency quantile and one per error rate, with tolerances and defaults', () => {
    expect(plan.metrics).toEqual([
      { id: 'latency_p50', kind: 'latency_quantile', quantile: 0.5, tolerance: 0.2, minSamples: undefined },
      {
        id: 'latency_p99.9',
        kind: 'latency_quantile',
        quantile: 0.999,
        tolerance: 0.2,
        minSamples: undefined,
      },
      { id: 'errors', kind: 'error_rate', tolerance: 0.005, minSamples: 500 },
    ]);
    expect(plan.policy).toMatchObject({
      alpha: 0.01,
      canaryShare: 0.25,
      minSamplesPerArm: 200,
      srmAlpha: 0.001,
    });
    expect(plan.maxDurationMs).toBe(600_000);
  });

  it('defaults to p50, p95 and p99 for a latency metric without quantiles', () => {
    const defaults = planAnalysis(
      analysisSchema.parse({ id: 'a', variant: { flag: 'f' }, baseline: 'off', canary: 'on' }),
    );
    expect(defaults.metrics.map((metric) => metric.id)).toEqual([
      'latency_p50',
      'latency_p95',
      'latency_p99',
      'errors',
    ]);
  });

  it('names quantile metrics without floating-point noise', () => {
    expect(quantileMetricId('latency', 0.95)).toBe('latency_p95');
    expect(quantileMetricId('latency', 0.999)).toBe('latency_p99.9');
  });
});

describe('decideVerdict', () => {
  it('fails with rollback when the statistics fail, whatever the time', () => {
    expect(decideVerdict(evaluation('fail', 'p95 worse'), 0, plan)).toEqual({
      verdict: 'fail',
      action: 'rollback',
      reason: 'p95 worse',
    });
    expect(decideVerdict(evaluation('fail'), 10 * 600_000, plan).verdict).toBe('fail');
  });

  it('passes with promote when every metric passes', () => {
    expect(decideVerdict(evaluation('pass'), 1000, plan)).toMatchObject({
      verdict: 'pass',
      action: 'promote',
    });
  });

  it('keeps running with continue before the time limit', () => {
    expect(decideVerdict(evaluation('running'), 599_999, plan)).toMatchObject({
      verdict: 'running',
      action: 'continue',
    });
  });

  it('ends inconclusive with the configured action at the time limit', () => {
    const decision = decideVerdict(
      evaluation('running', 'collecting evidence: errors undecided'),
      600_000,
      plan,
    );
    expect(decision).toEqual({
      verdict: 'inconclusive',
      action: 'continue',
      reason: 'no decision within 10 min (collecting evidence: errors undecided)',
    });
    const strict = planAnalysis(
      analysisSchema.parse({ id: 'b', variant: { flag: 'f' }, baseline: 'off', canary: 'on' }),
    );
    expect(decideVerdict(evaluation('running'), strict.maxDurationMs, strict).action).toBe('rollback');
  });
});
