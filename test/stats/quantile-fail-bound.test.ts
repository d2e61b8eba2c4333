// The fail test's own lower bound (quantile-fail-bound.ts): found by bisection, never above the exact bound,
// within PRECISION of it, and on the same side of the tolerance as the test's decision at the tolerance, so
// the bound shown beside a latency quantile's verdict never contradicts it (issue 15).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largestRejectedRatio, PRECISION } from '../../src/stats/quantile-fail-bound.js';

describe('largestRejectedRatio', () => {
  it('finds the largest rejected limit from below, to the precision, on the decision’s side of the anchor', () => {
    fc.assert(
      fc.property(
        fc.double({ min: Math.log(0.05), max: Math.log(50), noNaN: true }),
        fc.double({ min: 0.5, max: 200, noNaN: true }),
        fc.double({ min: 0.5, max: 3, noNaN: true }),
        fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { maxLength: 3 }),
        (logExact, slope, anchor, hints) => {
          // Evidence falls linearly in log L and crosses the threshold at exactly exp(logExact).
          const threshold = Math.log(100);
          const evidenceAt = (limit: number) => threshold + slope * (logExact - Math.log(limit));
          const exact = Math.exp(logExact);
          const bound = largestRejectedRatio(evidenceAt, threshold, anchor, hints);
          expect(evidenceAt(bound)).toBeGreaterThanOrEqual(threshold);
          expect(bound).toBeLessThanOrEqual(exact * (1 + 1e-12));
          expect(bound).toBeGreaterThanOrEqual(exact / (1 + PRECISION) ** 2);
          expect(bound >= anchor).toBe(evidenceAt(anchor) >= threshold);
        },
      ),
      { seed: 15, numRuns: 500 },
    );
  });

  it('gives 0 when nothing is rejected and Infinity when every limit is', () => {
    expect(largestRejectedRatio(() => -1, 0, 1.2)).toBe(0);
    expect(largestRejectedRatio(() => 1, 0, 1.2)).toBe(Infinity);
  });
});
