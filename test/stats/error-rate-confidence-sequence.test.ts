import { describe, expect, it } from 'vitest';
import { errorRateConfidenceSequence } from '../../src/stats/error-rate-confidence-sequence.js';

const counts = (ce: number, cn: number, be: number, bn: number) => ({
  canaryErrors: ce,
  canaryRequests: cn,
  baselineErrors: be,
  baselineRequests: bn,
});

describe('errorRateConfidenceSequence', () => {
  it('rejects "no worse than tolerance" exactly when the lower bound clears the tolerance', () => {
    for (const [ce, be, tol] of [
      [60, 90, 0],
      [45, 90, 0],
      [80, 90, 0.005],
      [30, 90, 0.005],
    ]) {
      const r = errorRateConfidenceSequence(counts(ce, 3000, be, 9000), tol, 0.01, 0.01);
      expect(r.worsePValue <= 0.01).toBe(r.lower > tol);
    }
  });

  it('gives p = 1 for "worse" when the canary looks better, and the reverse for "within"', () => {
    const r = errorRateConfidenceSequence(counts(0, 5000, 200, 45000), 0, 0.01, 0.01);
    expect(r.worsePValue).toBe(1);
    expect(r.withinPValue).toBeLessThan(0.01);
  });

  it('is wider than the fixed-horizon Wald interval at the same level (the price of peeking)', () => {
    const r = errorRateConfidenceSequence(counts(30, 3000, 90, 27000), 0, 0.05, 0.01);
    const se = Math.sqrt((0.01 * 0.99) / 3000 + (0.0033 * 0.9967) / 27000);
    expect(r.upper - r.lower).toBeGreaterThan(2 * 1.96 * se);
  });

  it('zero baseline errors: one canary error among 100 requests is not significant', () => {
    const r = errorRateConfidenceSequence(counts(1, 100, 0, 900), 0, 0.01, 0.01);
    expect(r.worsePValue).toBeGreaterThan(0.1);
  });

  it('an empty arm yields no evidence', () => {
    const r = errorRateConfidenceSequence(counts(5, 100, 0, 0), 0, 0.01, 0.01);
    expect([r.worsePValue, r.withinPValue]).toEqual([1, 1]);
  });
});
