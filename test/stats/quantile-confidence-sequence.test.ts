import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import {
  acceptedCounts,
  betaBinomialConcentration,
  logBetaBinomialMixture,
  quantileConfidenceSequence,
} from '../../src/stats/quantile-confidence-sequence.js';
import { rankedBuckets } from '../../src/stats/ranked-buckets.js';
import { Random } from '../../bench/sim/random.js';

describe('quantile confidence sequence', () => {
  it('accepts exactly the counts whose mixture stays below 1/alpha', () => {
    const c = betaBinomialConcentration(1000, 0.01);
    const { kLow, kHigh } = acceptedCounts(500, 0.95, 0.01, c);
    expect(logBetaBinomialMixture(kLow, 500, 0.95, c)).toBeLessThan(Math.log(100));
    expect(logBetaBinomialMixture(kLow - 1, 500, 0.95, c)).toBeGreaterThanOrEqual(Math.log(100));
    expect(logBetaBinomialMixture(kHigh, 500, 0.95, c)).toBeLessThan(Math.log(100));
    if (kHigh < 500)
      expect(logBetaBinomialMixture(kHigh + 1, 500, 0.95, c)).toBeGreaterThanOrEqual(Math.log(100));
  });

  it('covers the true p95 at every one of 60 looks in at least 1 - alpha of 300 seeded runs', () => {
    const alpha = 0.05;
    const c = betaBinomialConcentration(1000, alpha);
    const random = new Random(7);
    const truth = -Math.log(0.05) * 1e6; // p95 of Exponential(mean 1 ms), in ns
    let runsWithMiss = 0;
    for (let run = 0; run < 300; run++) {
      const h = new LatencyHistogram();
      let missed = false;
      for (let look = 1; look <= 60 && !missed; look++) {
        for (let i = 0; i < 50; i++) h.record(-Math.log(1 - random.uniform()) * 1e6);
        const b = quantileConfidenceSequence(rankedBuckets(h), 0.95, alpha, c);
        missed = truth < b.lowerNanos || truth > b.upperNanos;
      }
      if (missed) runsWithMiss++;
    }
    // Expected <= 15 misses at alpha = 0.05; 26 is the 0.999 quantile of Binomial(300, 0.05).
    expect(runsWithMiss).toBeLessThanOrEqual(26);
  });

  it('has no upper bound for p99 of a handful of samples', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 20; i++) h.record(i * 1e6);
    expect(quantileConfidenceSequence(rankedBuckets(h), 0.99, 0.01, 60).upperNanos).toBe(Infinity);
  });
});
