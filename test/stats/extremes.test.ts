// Every loop of the statistics engine at the extremes its inputs can reach (issue 9, cases 2 and 3): counts
// up to 2^53, a single bucket holding every sample, values that are infinite or NaN (a poisoned state that
// got past validation), and a whole evaluation on such arms. Each case must finish and return numbers in
// range; before the bounds were added, the NaN case looped for ever in standardizedRankSum, counts of 1e10
// looped in acceptedCounts (`>> 1` wraps past 2^31) and counts of 1e15 grew binomial terms until V8 aborted.
import { describe, expect, it } from 'vitest';
import { ArmState } from '../../src/accumulate/arm-state.js';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { DEFAULT_METRICS, DEFAULT_POLICY, initialSequentialState } from '../../src/stats/analysis-policy.js';
import { binomialCdf, binomialQuantiles } from '../../src/stats/binomial-distribution.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';
import { fisherExactTest } from '../../src/stats/fisher-exact-test.js';
import { hodgesLehmannShift } from '../../src/stats/hodges-lehmann-shift.js';
import { mannWhitneyU } from '../../src/stats/mann-whitney-u.js';
import { acceptedCounts } from '../../src/stats/quantile-confidence-sequence.js';
import { orderStatisticRanks } from '../../src/stats/quantile-confidence-interval.js';
import { twoSampleQuantilePValue } from '../../src/stats/quantile-two-sample.js';
import { rankedIntervals } from '../../src/stats/ranked-buckets.js';

const MAX_COUNT = 2 ** 53 - 1;

function arm(requests: number, errors: number, buckets: Array<[index: number, count: number]>): ArmState {
  const latency = new LatencyHistogram();
  for (const [index, count] of buckets) latency.recordBucket(index, 6, count);
  const state = new ArmState(latency);
  state.requests = requests;
  state.errors = errors;
  return state;
}

const inUnit = (p: number) => expect(p >= 0 && p <= 1).toBe(true);

describe('rank tests terminate on any value', () => {
  it('Mann-Whitney U and Hodges-Lehmann with NaN and infinite values', () => {
    const poisoned = { values: [1, NaN, Infinity], counts: [2, 3, 4] };
    const clean = { values: [0.5, 2, 3], counts: [5, 5, 5] };
    expect(Number.isNaN(mannWhitneyU(poisoned, clean).u1)).toBe(false);
    const shift = hodgesLehmannShift(poisoned, clean);
    expect(shift.confidence).toBe(0.95);
    const allInfinite = { values: [Infinity], counts: [3] };
    hodgesLehmannShift(allInfinite, clean);
    hodgesLehmannShift(clean, allInfinite);
  });

  it('Mann-Whitney U with counts near 2^53 in one bucket per arm', () => {
    const result = mannWhitneyU({ values: [1], counts: [MAX_COUNT] }, { values: [2], counts: [MAX_COUNT] });
    inUnit(result.pValue);
  });
});

describe('order statistics and confidence sequences at 2^53 samples', () => {
  it('binomial quantiles and CDF cost O(1) past the exact range and bracket the median', () => {
    for (const n of [1e9, 1e13, 1e15, MAX_COUNT]) {
      const [lower, upper] = binomialQuantiles([0.025, 0.975], n, 0.5);
      expect(lower).toBeLessThan(n / 2);
      expect(upper).toBeGreaterThan(n / 2);
      inUnit(binomialCdf(n / 2, n, 0.5));
    }
    const ranks = orderStatisticRanks(MAX_COUNT, 0.99);
    expect(ranks.lowerRank).toBeLessThan(ranks.upperRank);
  });

  it('the approximate quantiles stay on the conservative side of the exact ones where both exist', () => {
    // sd just above the exact range: n p (1 - p) = 1.0e8 * 1.0201.
    const n = 4.0804e8;
    const [lower, upper] = binomialQuantiles([0.005, 0.995], n, 0.5);
    const exactLower = binomialQuantiles([0.005], 3.9e8, 0.5)[0] + (n - 3.9e8) / 2;
    expect(lower).toBeLessThan(exactLower + 50);
    expect(upper - n / 2).toBeGreaterThan(n / 2 - lower - 2);
  });

  it('accepted counts of the beta-binomial mixture for 2^53 samples', () => {
    const bounds = acceptedCounts(MAX_COUNT, 0.95, 0.001, 1000);
    expect(bounds.kLow).toBeLessThanOrEqual(0.95 * MAX_COUNT);
    expect(bounds.kHigh).toBeGreaterThanOrEqual(0.95 * MAX_COUNT - 1);
    expect(bounds.kHigh).toBeLessThanOrEqual(MAX_COUNT);
  });

  it('the two-sample quantile test with one bucket per arm at 2^53 and with NaN edges', () => {
    const huge = rankedIntervals([{ lowerNanos: 1e6, upperNanos: 1.1e6, count: MAX_COUNT }]);
    inUnit(twoSampleQuantilePValue(huge, huge, 0.5, 1.1, 1000, 9000));
    const nan = rankedIntervals([
      { lowerNanos: NaN, upperNanos: NaN, count: 5 },
      { lowerNanos: NaN, upperNanos: NaN, count: 5 },
    ]);
    inUnit(twoSampleQuantilePValue(nan, huge, 0.5, 1, 1000, 9000));
    inUnit(twoSampleQuantilePValue(huge, nan, 0.5, 1, 1000, 9000));
  });
});

describe("Fisher's exact test on huge tables", () => {
  it('walks only the terms that matter (sd < 2.3 as the caller uses it), at counts near 2^53', () => {
    const result = fisherExactTest(3, MAX_COUNT - 10, 1, MAX_COUNT - 10);
    inUnit(result.pValue);
  });

  it('falls back to the chi-squared test when the table is far too spread for exact terms', () => {
    const result = fisherExactTest(2 ** 51, 2 ** 51, 2 ** 51, 2 ** 51 + 2 ** 30);
    inUnit(result.pValue);
    expect(result.pValue).toBeLessThan(0.5);
  });

  it('matches the exact sum on a small table (SciPy: fisher_exact([[3, 1], [1, 3]]) = 0.48571428571428565)', () => {
    expect(fisherExactTest(3, 1, 1, 3).pValue).toBeCloseTo(0.48571428571428565, 12);
  });
});

describe('a whole evaluation at the extremes', () => {
  it('decides on arms of 2^53 requests with one huge bucket each', () => {
    const baseline = arm(MAX_COUNT, 2 ** 50, [[1300, MAX_COUNT - 1]]);
    const canary = arm(MAX_COUNT, 2 ** 51, [[1310, MAX_COUNT - 1]]);
    const result = evaluateAnalysis(
      [{ baseline, canary, canaryShare: 0.5 }],
      DEFAULT_METRICS,
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    expect(['running', 'pass', 'fail']).toContain(result.decision);
    for (const metric of result.metrics) inUnit(metric.alwaysValidPValue);
  });

  it('decides on arms whose single bucket sits at the top of the histogram range', () => {
    const top = new LatencyHistogram();
    top.record(Number.MAX_VALUE, 1000);
    const low = new LatencyHistogram();
    low.record(1e6, 1000);
    const canary = new ArmState(top);
    canary.requests = 1000;
    const baseline = new ArmState(low);
    baseline.requests = 1000;
    const result = evaluateAnalysis(
      [{ baseline, canary, canaryShare: 0.5 }],
      DEFAULT_METRICS,
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    expect(['running', 'pass', 'fail']).toContain(result.decision);
  });
});
