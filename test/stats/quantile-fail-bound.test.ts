// The fail test's own lower bound (quantile-fail-bound.ts): found by bisection, never above the exact bound,
// within PRECISION of it, and on the same side of the tolerance as the test's decision at the tolerance, so
// the bound shown beside a latency quantile's verdict never contradicts it (issue 15).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largestRejectedRatio, PRECISION } from '../../src/stats/quantile-fail-bound.js';

// The exact bound (its log), how steeply the evidence falls in log L, the anchor, and hints to the search.
const logExactBound = fc.double({ min: Math.log(0.05), max: Math.log(50), noNaN: true });
const evidenceSlope = fc.double({ min: 0.5, max: 200, noNaN: true });
const anchorRatio = fc.double({ min: 0.5, max: 3, noNaN: true });
const boundHints = fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { maxLength: 3 });

describe('largestRejectedRatio', () => {
  it('finds the largest rejected limit from below, to the precision, on the decision’s side of the anchor', () => {
    fc.assert(
      fc.property(logExactBound, evidenceSlope, anchorRatio, boundHints, (logExact, slope, anchor, hints) => {
        // Evidence falls linearly in log L and crosses the threshold at exactly exp(logExact).
        const threshold = Math.log(100);
        const evidenceAt = (limit: number) => threshold + slope * (logExact - Math.log(limit));
        const exact = Math.exp(logExact);
        const bound = largestRejectedRatio(evidenceAt, threshold, anchor, hints);
        expect(evidenceAt(bound)).toBeGreaterThanOrEqual(threshold);
        expect(bound).toBeLessThanOrEqual(exact * (1 + 1e-12));
        expect(bound).toBeGreaterThanOrEqual(exact / (1 + PRECISION) ** 2);
        expect(bound >= anchor).toBe(evidenceAt(anchor) >= threshold);
      }),
      { seed: 15, numRuns: 500 },
    );
  });

  it('warm-started from any previous bound, gives the cold bound within the precision, never above the exact one', () => {
    const previous = fc.oneof(
      fc.double({ min: 1e-8, max: 1e8, noNaN: true }),
      fc.constantFrom(NaN, Infinity, -Infinity, 0, -1, 1e-6, 1e6),
    );
    fc.assert(
      fc.property(
        logExactBound,
        evidenceSlope,
        anchorRatio,
        boundHints,
        fc.oneof(previous, fc.double({ min: 0.9, max: 1.1, noNaN: true })),
        (logExact, slope, anchor, hints, nearFactor) => {
          const threshold = Math.log(100);
          const evidenceAt = (limit: number) => threshold + slope * (logExact - Math.log(limit));
          const exact = Math.exp(logExact);
          // Either an arbitrary value or one near the exact bound (the warm start's usual case).
          const hint = nearFactor >= 0.9 && nearFactor <= 1.1 ? exact * nearFactor : nearFactor;
          const cold = largestRejectedRatio(evidenceAt, threshold, anchor, hints);
          const warm = largestRejectedRatio(evidenceAt, threshold, anchor, hints, hint);
          expect(evidenceAt(warm)).toBeGreaterThanOrEqual(threshold);
          expect(warm).toBeLessThanOrEqual(exact * (1 + 1e-12));
          expect(warm).toBeGreaterThanOrEqual(cold / (1 + PRECISION) ** 2);
          expect(warm).toBeLessThanOrEqual(cold * (1 + PRECISION) ** 2);
          expect(warm >= anchor).toBe(evidenceAt(anchor) >= threshold);
        },
      ),
      { seed: 13, numRuns: 1000 },
    );
  });

  it('warm-started from its own result on the same evidence, returns it in three evaluations', () => {
    fc.assert(
      fc.property(logExactBound, evidenceSlope, anchorRatio, (logExact, slope, anchor) => {
        const threshold = Math.log(100);
        let evaluations = 0;
        const evidenceAt = (limit: number) => {
          evaluations += 1;
          return threshold + slope * (logExact - Math.log(limit));
        };
        const cold = largestRejectedRatio(evidenceAt, threshold, anchor);
        evaluations = 0;
        expect(largestRejectedRatio(evidenceAt, threshold, anchor, [], cold)).toBe(cold);
        expect(evaluations).toBeLessThanOrEqual(3);
      }),
      { seed: 13, numRuns: 500 },
    );
  });

  it('costs about half the evaluations warm when the bound moved by 1% since the last tick', () => {
    // 200 bounds spread over 0.3-5 (both sides of the anchor), each found cold, then warm from the bound found
    // (cold) on evidence whose exact bound was 1% below or above. In the judge-tick benchmark half the bounds
    // did not move at all between ticks and 90% moved by less than 1.5%.
    const threshold = Math.log(100);
    const evidence = (exact: number) => (limit: number) =>
      threshold + 20 * (Math.log(exact) - Math.log(limit));
    let cold = 0;
    let warm = 0;
    for (let k = 0; k < 200; k++) {
      const exact = 0.3 * (5 / 0.3) ** (k / 199);
      const moved = exact * (k % 2 === 0 ? 0.99 : 1.01);
      const previous = largestRejectedRatio(evidence(moved), threshold, 1.1, [moved * 0.8, moved * 1.3]);
      let evaluations = 0;
      const counted = (limit: number) => {
        evaluations += 1;
        return evidence(exact)(limit);
      };
      largestRejectedRatio(counted, threshold, 1.1, [exact * 0.8, exact * 1.3]);
      cold += evaluations;
      evaluations = 0;
      largestRejectedRatio(counted, threshold, 1.1, [exact * 0.8, exact * 1.3], previous);
      warm += evaluations;
    }
    // When written: 9.8 evaluations cold and 5.1 warm on average.
    expect(warm).toBeLessThan(0.6 * cold);
  });

  it('far from the anchor, warm and cold agree: the same finite bound, 0 and Infinity only past the search range', () => {
    // A bound that jumped from near 1 to far off between ticks (a canary timing out against a fast baseline):
    // the warm start's growing steps once returned Infinity (or 0) without testing the range's end.
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: Math.log(1e4), max: Math.log(1e6), noNaN: true }),
          fc.double({ min: Math.log(1e-6), max: Math.log(1e-4), noNaN: true }),
          fc.double({ min: Math.log(1e6), max: Math.log(1e8), noNaN: true }),
          fc.double({ min: Math.log(1e-8), max: Math.log(1e-6), noNaN: true }),
        ),
        evidenceSlope,
        fc.double({ min: 0.5, max: 2, noNaN: true }),
        (logExact, slope, previous) => {
          const threshold = Math.log(100);
          const evidenceAt = (limit: number) => threshold + slope * (logExact - Math.log(limit));
          const exact = Math.exp(logExact);
          const cold = largestRejectedRatio(evidenceAt, threshold, 1.1);
          const warm = largestRejectedRatio(evidenceAt, threshold, 1.1, [], previous);
          if (evidenceAt(1e6) >= threshold) {
            expect([cold, warm]).toEqual([Infinity, Infinity]);
          } else if (!(evidenceAt(1e-6) >= threshold)) {
            expect([cold, warm]).toEqual([0, 0]);
          } else {
            expect(Number.isFinite(cold) && Number.isFinite(warm)).toBe(true);
            for (const bound of [cold, warm]) {
              expect(evidenceAt(bound)).toBeGreaterThanOrEqual(threshold);
              expect(bound).toBeLessThanOrEqual(exact * (1 + 1e-12));
              expect(bound).toBeGreaterThanOrEqual(exact / (1 + PRECISION) ** 2);
            }
          }
        },
      ),
      { seed: 26, numRuns: 1000 },
    );
  });

  it('gives 0 when nothing is rejected and Infinity when every limit is', () => {
    expect(largestRejectedRatio(() => -1, 0, 1.2)).toBe(0);
    expect(largestRejectedRatio(() => 1, 0, 1.2)).toBe(Infinity);
  });
});
