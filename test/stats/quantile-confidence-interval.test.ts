import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { histogramLatency } from '../../src/stats/arm-latency.js';
import {
  orderStatisticRanks,
  quantileConfidenceInterval,
} from '../../src/stats/quantile-confidence-interval.js';
import { reference } from './reference-fixtures.js';

describe('orderStatisticRanks', () => {
  it(`matches ranks from scipy binom.ppf on ${reference.orderStatistics.length} cases, n = 1..1,000,000`, () => {
    for (const c of reference.orderStatistics) {
      expect(orderStatisticRanks(c.n, c.q, c.confidence), JSON.stringify(c)).toEqual({
        lowerRank: c.lowerRank,
        upperRank: c.upperRank,
      });
    }
  });
});

describe('quantileConfidenceInterval', () => {
  it('brackets the true p99 of a known distribution from bucket edges', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10000; i++) h.record(i * 1000);
    const ci = quantileConfidenceInterval(histogramLatency(h), 0.99);
    expect(ci.lowerNanos).toBeLessThanOrEqual(9.9e6);
    expect(ci.upperNanos).toBeGreaterThanOrEqual(9.9e6);
    expect(ci.upperNanos / ci.lowerNanos).toBeLessThan(1.03);
  });

  it('has no upper bound for p99 of 10 samples', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10; i++) h.record(i * 1000);
    expect(quantileConfidenceInterval(histogramLatency(h), 0.99).upperNanos).toBe(Infinity);
  });

  it('is one bucket wide when every value is identical', () => {
    const h = new LatencyHistogram();
    h.record(5e6, 1000);
    const ci = quantileConfidenceInterval(histogramLatency(h), 0.5);
    expect(ci.lowerNanos).toBeLessThan(5e6);
    expect(ci.upperNanos).toBeGreaterThanOrEqual(5e6);
    expect(ci.upperNanos / ci.lowerNanos).toBeLessThan(1.011);
  });
});
