import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { quantileRatioTest } from '../../src/stats/quantile-ratio-test.js';
import { rankedBuckets } from '../../src/stats/ranked-buckets.js';

function histogram(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return h;
}

const CONCENTRATION = 40;

describe('quantileRatioTest', () => {
  it("the bounds' own p-values are the smallest alpha at which the bounds reject (checked by bisection)", () => {
    const sampleOf = (scale: number) =>
      fc.array(
        fc.double({ min: 1, max: 3, noNaN: true }).map((x) => x * scale * 1e6),
        { minLength: 50, maxLength: 400 },
      );
    fc.assert(
      fc.property(
        sampleOf(1),
        sampleOf(1.5),
        fc.constantFrom(0.5, 0.95),
        fc.constantFrom(0, 0.1),
        fc.constantFrom(0.5, 0.75),
        (b, c, q, tol, canaryShare) => {
          const cr = rankedBuckets(histogram(c));
          const br = rankedBuckets(histogram(b));
          // Per-arm priors and an uneven alpha split (metric-evidence.ts) keep the p-values exact too.
          const conc = canaryShare === 0.5 ? CONCENTRATION : { canary: CONCENTRATION, baseline: 150 };
          const r = quantileRatioTest(cr, br, q, tol, 0.01, conc, canaryShare);
          for (const [p, key] of [
            [r.boundsWorsePValue, 'worse'],
            [r.withinPValue, 'within'],
          ] as const) {
            if (p >= 1) continue;
            const at = (alpha: number) => {
              const x = quantileRatioTest(cr, br, q, tol, alpha, conc, canaryShare);
              return key === 'worse' ? x.lower > 1 + tol : x.upper < 1 + tol;
            };
            expect(at(p * (1 + 1e-9))).toBe(true);
            expect(at(p * (1 - 1e-6))).toBe(false);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('bounds the ratio of identical arms inside one bucket width of 1', () => {
    const a = new LatencyHistogram();
    a.record(20e6, 5000);
    const r = quantileRatioTest(rankedBuckets(a), rankedBuckets(a), 0.5, 0.1, 0.01, CONCENTRATION);
    expect(r.lower).toBeGreaterThan(0.97);
    expect(r.upper).toBeLessThan(1.03);
    expect(r.worsePValue).toBe(1);
    expect(r.withinPValue).toBeLessThan(1e-6);
  });

  it('gives no evidence either way when the canary is empty', () => {
    const b = histogram([1e6, 2e6, 3e6]);
    const r = quantileRatioTest(
      rankedBuckets(new LatencyHistogram()),
      rankedBuckets(b),
      0.5,
      0.1,
      0.01,
      CONCENTRATION,
    );
    expect([r.worsePValue, r.withinPValue]).toEqual([1, 1]);
  });
});
