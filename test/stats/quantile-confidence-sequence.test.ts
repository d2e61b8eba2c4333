import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { binomialCdf } from '../../src/stats/binomial-distribution.js';
import { regularizedIncompleteBeta } from '../../src/stats/incomplete-beta.js';
import { logBeta } from '../../src/stats/log-gamma.js';
import {
  acceptedCounts,
  betaBinomialConcentration,
  logBetaBinomialMixture,
  oneSidedLevel,
  priorMassBelow,
  quantileConfidenceSequence,
} from '../../src/stats/quantile-confidence-sequence.js';
import { rankedBuckets } from '../../src/stats/ranked-buckets.js';
import { Random } from '../../bench/sim/random.js';

describe('quantile confidence sequence', () => {
  it('accepts exactly the counts whose one-sided mixture bound stays below 1/alpha on their side', () => {
    const c = betaBinomialConcentration(1000, 0.01);
    const w = priorMassBelow(0.95, c);
    // Lower side: (M - (1 - w)) / w < 1/alpha; upper side: (M - w) / (1 - w) < 1/alpha.
    const lowerLimit = Math.log(1 - w + w * 100);
    const upperLimit = Math.log(w + (1 - w) * 100);
    const { kLow, kHigh } = acceptedCounts(500, 0.95, 0.01, c);
    expect(logBetaBinomialMixture(kLow, 500, 0.95, c)).toBeLessThan(lowerLimit);
    expect(logBetaBinomialMixture(kLow - 1, 500, 0.95, c)).toBeGreaterThanOrEqual(lowerLimit);
    expect(logBetaBinomialMixture(kHigh, 500, 0.95, c)).toBeLessThan(upperLimit);
    if (kHigh < 500)
      expect(logBetaBinomialMixture(kHigh + 1, 500, 0.95, c)).toBeGreaterThanOrEqual(upperLimit);
  });

  it('one side needs less evidence than the two-sided set at the same alpha, and never more than half of it', () => {
    for (const q of [0.5, 0.95, 0.99]) {
      const c = betaBinomialConcentration(1000, 0.001);
      const w = priorMassBelow(q, c);
      expect(w).toBeGreaterThan(0.2);
      expect(w).toBeLessThan(0.8);
      const t = 2000;
      for (const k of [Math.floor(t * q) - 200, Math.floor(t * q) - 60, Math.ceil(t * q) + 15]) {
        if (k < 0 || k > t) continue;
        const twoSided = Math.min(1, Math.exp(-logBetaBinomialMixture(k, t, q, c)));
        const oneSided = oneSidedLevel(k, t, q, c);
        expect(oneSided).toBeLessThanOrEqual(twoSided);
        if (twoSided < 1e-3) expect(oneSided).toBeGreaterThanOrEqual(twoSided * Math.min(w, 1 - w) * 0.999);
      }
    }
  });

  it('prior mass below q: the incomplete beta matches binomial tails and a direct integral', () => {
    // I_x(a, b) = P(Binomial(a + b - 1, x) >= a) for integer a, b.
    for (const [x, a, b] of [
      [0.3, 2, 5],
      [0.95, 57, 3],
      [0.5, 40, 40],
      [0.99, 950, 10],
      [0.1, 1, 1],
    ]) {
      expect(regularizedIncompleteBeta(x, a, b)).toBeCloseTo(1 - binomialCdf(a - 1, a + b - 1, x), 12);
    }
    // Non-integer parameters: midpoint rule on the Beta(a, b) density over (0, x).
    const [x, a, b] = [0.95, 0.95 * 60.3, 0.05 * 60.3];
    const steps = 200_000;
    let integral = 0;
    for (let i = 0; i < steps; i++) {
      const p = ((i + 0.5) / steps) * x;
      integral += Math.exp((a - 1) * Math.log(p) + (b - 1) * Math.log1p(-p) - logBeta(a, b)) * (x / steps);
    }
    expect(regularizedIncompleteBeta(x, a, b)).toBeCloseTo(integral, 7);
  });

  it('covers the true p95 at every one of 60 looks in at least 1 - alpha of 300 seeded runs', () => {
    const alpha = 0.05;
    const c = betaBinomialConcentration(1000, alpha / 2);
    const random = new Random(7);
    const truth = -Math.log(0.05) * 1e6; // p95 of Exponential(mean 1 ms), in ns
    let runsWithMiss = 0;
    for (let run = 0; run < 300; run++) {
      const h = new LatencyHistogram();
      let missed = false;
      for (let look = 1; look <= 60 && !missed; look++) {
        for (let i = 0; i < 50; i++) h.record(-Math.log(1 - random.uniform()) * 1e6);
        // Each side at alpha / 2: a two-sided 1 - alpha sequence.
        const b = quantileConfidenceSequence(rankedBuckets(h), 0.95, alpha / 2, c);
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
