// The latency-mean comparison from exact sums with a variance bound valid for bucketed data.
import { describe, expect, it } from 'vitest';
import { Random } from '../../bench/sim/random.js';
import { OTEL_DEFAULT_DURATION_BOUNDS_SECONDS } from '../../bench/sim/canary-simulation.js';
import { ArmState } from '../../src/accumulate/arm-state.js';
import { DEFAULT_POLICY, initialSequentialState, type MetricSpec } from '../../src/stats/analysis-policy.js';
import { censoredVarianceBound } from '../../src/stats/censored-variance.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';
import { meanRatioTest } from '../../src/stats/latency-mean-test.js';

const bounds = OTEL_DEFAULT_DURATION_BOUNDS_SECONDS.map((s) => Math.round(s * 1e9));
const mean: MetricSpec[] = [{ id: 'latency_mean', kind: 'latency_mean', tolerance: 0.1 }];

/** One explicit-bucket point of n lognormal latencies (median in ms), with sum and, optionally, max. */
function point(n: number, medianMs: number, seed: number, withMax = true, withSum = true): ArmState {
  const random = new Random(seed);
  const counts = new Array<number>(bounds.length + 1).fill(0);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const x = medianMs * 1e6 * Math.exp(0.5 * random.normal());
    sum += x;
    max = Math.max(max, x);
    counts[bounds.findIndex((b) => b >= x) === -1 ? bounds.length : bounds.findIndex((b) => b >= x)]++;
  }
  const arm = new ArmState();
  arm.recordHistogram({
    count: n,
    errors: 0,
    explicit: { bounds, bucketCounts: counts },
    sumNanos: withSum ? sum : undefined,
    maxNanos: withMax ? max : undefined,
  });
  return arm;
}

describe('latency mean', () => {
  it('fails a 30% slower canary and passes a 5% slower one at a 10% tolerance from OTel default buckets', () => {
    const slow = evaluateAnalysis(
      [{ baseline: point(9000, 50, 1), canary: point(1000, 65, 2), canaryShare: 0.1 }],
      mean,
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    expect(slow.decision).toBe('fail');
    expect(slow.reason).toMatch(
      /^latency_mean: mean canary [\d.]+ms vs baseline [\d.]+ms, ratio x1\.[23]\d+/,
    );
    const close = evaluateAnalysis(
      [{ baseline: point(180000, 50, 3), canary: point(20000, 52.5, 4), canaryShare: 0.1 }],
      mean,
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    expect(close.decision).toBe('pass');
  });

  it('the variance bound holds for every placement: above the true sample variance, closed by max, wide when the open bucket has no max', () => {
    const random = new Random(5);
    const values = Array.from({ length: 2000 }, () => 50e6 * Math.exp(0.5 * random.normal()));
    const sum = values.reduce((a, b) => a + b, 0);
    const trueVariance = values.reduce((s, x) => s + (x - sum / values.length) ** 2, 0) / (values.length - 1);
    const withMax = point(2000, 50, 5);
    const intervals = withMax.coarseLatency.intervals();
    const bound = censoredVarianceBound(intervals, withMax.latencySumNanos);
    expect(bound.variance).toBeGreaterThanOrEqual(trueVariance);
    expect(bound.variance).toBeLessThan(5 * trueVariance);
    expect(bound.openValues).toBe(0);
    // One value past the last bound (10 s) and no max: all slack may sit on it.
    const open = censoredVarianceBound(
      [...intervals, { lowerNanos: 10e9, upperNanos: Infinity, count: 1 }],
      withMax.latencySumNanos + 11e9,
    );
    expect(open.openValues).toBe(1);
    expect(open.variance).toBeGreaterThan(100 * bound.variance);
  });

  it('says why it cannot decide: values without a sum, or an open last bucket without a max', () => {
    const noSum = evaluateAnalysis(
      [{ baseline: point(9000, 50, 6, true, false), canary: point(1000, 65, 7), canaryShare: 0.1 }],
      mean,
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    expect(noSum.decision).toBe('running');
    expect(noSum.metrics[0].reason).toMatch(
      /9000 latencies arrived without a sum, so the mean cannot be compared/,
    );
    const b = point(9000, 50, 8, false);
    b.recordHistogram({
      count: 3,
      errors: 0,
      explicit: { bounds, bucketCounts: [...new Array<number>(bounds.length).fill(0), 3] },
      sumNanos: 36e9,
    });
    const open = evaluateAnalysis(
      [{ baseline: b, canary: point(1000, 50, 9, false), canaryShare: 0.1 }],
      mean,
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    expect(open.metrics[0].reason).toMatch(
      /3 latencies lie in the open last bucket \(> 10000 ms\) with no max reported/,
    );
  });

  it('stratifies by stage: a baseline that slows between stages cancels out', () => {
    const stage = (ms: number, n: number) => ({
      n,
      sumNanos: n * ms * 1e6,
      varianceBound: (ms * 1e6) ** 2 / 4,
    });
    const stages = [
      { baseline: stage(50, 9000), canary: stage(50, 1000) },
      { baseline: stage(100, 5000), canary: stage(100, 5000) },
    ];
    const r = meanRatioTest(stages, null, 0.1, 0.01, { centre: 0.1, sd: 0.05 });
    expect(r.worsePValue).toBe(1);
    expect(r.lower).toBeLessThan(1);
    // Pooled over both stages the canary (mostly from the slow stage) looks 1.6x slower.
    const pool = (arms: { n: number; sumNanos: number }[]) => {
      const n = arms.reduce((a, b) => a + b.n, 0);
      const sumNanos = arms.reduce((a, b) => a + b.sumNanos, 0);
      return { n, sumNanos, varianceBound: (sumNanos / n) ** 2 / 4 };
    };
    const pooled = {
      baseline: pool(stages.map((s) => s.baseline)),
      canary: pool(stages.map((s) => s.canary)),
    };
    expect(meanRatioTest([pooled], pooled, 0.1, 0.01, { centre: 0.1, sd: 0.05 }).worsePValue).toBeLessThan(
      1e-6,
    );
  });
});
