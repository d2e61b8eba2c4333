// Interval-censored latency statistics against an independent computation (test/fixtures/stats/
// make_censored_fixtures.py: brute force on the expanded sample with SciPy's special functions, exact vertex
// enumeration, scipy.optimize.linprog and scipy.integrate.quad), on OTel default explicit buckets, the
// accumulator's fine buckets, and both overlapping.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { ArmLatency } from '../../src/stats/arm-latency.js';
import { censoredVarianceBound } from '../../src/stats/censored-variance.js';
import { logNormalMixture, type NormalMixturePrior } from '../../src/stats/normal-mixture.js';
import { quantileConfidenceInterval } from '../../src/stats/quantile-confidence-interval.js';
import { acceptedCounts, quantileConfidenceSequence } from '../../src/stats/quantile-confidence-sequence.js';
import { type LatencyInterval, rankedIntervals } from '../../src/stats/ranked-buckets.js';

type Num = number | 'Infinity';
type Raw = [number, Num, number][];
interface Fixtures {
  versions: Record<string, string>;
  quantileSequence: {
    intervals: Raw;
    q: number;
    alpha: number;
    concentration: number;
    kLow: number;
    kHigh: number;
    lowerNanos: Num;
    upperNanos: Num;
  }[];
  orderStatistics: { intervals: Raw; q: number; confidence: number; lowerNanos: Num; upperNanos: Num }[];
  varianceVertices: { intervals: Raw; sum: number; exactMax: number; maxWidth: number }[];
  varianceLinearProgram: { intervals: Raw; sum: number; lpMax: number }[];
  normalMixture: { s: number; v: number; prior: NormalMixturePrior; logE: number }[];
}

const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/stats/censored.json', import.meta.url), 'utf8'),
) as Fixtures;

const num = (x: Num): number => (x === 'Infinity' ? Infinity : x);
const intervals = (raw: Raw): LatencyInterval[] =>
  raw.map(([lowerNanos, upper, count]) => ({ lowerNanos, upperNanos: num(upper), count }));

describe('interval-censored bounds against SciPy brute force', () => {
  it(`quantile confidence sequences take the outer edges: ${fixtures.quantileSequence.length} cases`, () => {
    for (const c of fixtures.quantileSequence) {
      const ranks = rankedIntervals(intervals(c.intervals));
      expect(acceptedCounts(ranks.n, c.q, c.alpha, c.concentration)).toEqual({
        kLow: c.kLow,
        kHigh: c.kHigh,
      });
      expect(quantileConfidenceSequence(ranks, c.q, c.alpha, c.concentration)).toEqual({
        lowerNanos: num(c.lowerNanos),
        upperNanos: num(c.upperNanos),
      });
    }
  });

  it(`order-statistic intervals take the outer edges: ${fixtures.orderStatistics.length} cases`, () => {
    for (const c of fixtures.orderStatistics) {
      const view = new ArmLatency(new LatencyHistogram(), intervals(c.intervals), 0, 0);
      const ci = quantileConfidenceInterval(view, c.q, c.confidence);
      expect([ci.lowerNanos, ci.upperNanos]).toEqual([num(c.lowerNanos), num(c.upperNanos)]);
    }
  });

  it('the variance bound is at least the exact maximum over every placement, and within one bucket of it', () => {
    for (const c of fixtures.varianceVertices) {
      const bound = censoredVarianceBound(intervals(c.intervals), c.sum).maxSumOfSquares;
      expect(bound).toBeGreaterThanOrEqual(c.exactMax * (1 - 1e-12));
      expect(bound).toBeLessThanOrEqual(c.exactMax + (c.maxWidth * c.maxWidth) / 4 + 1e-9 * c.exactMax);
    }
  });

  it('the variance bound equals the linear-programming relaxation solved by scipy linprog', () => {
    for (const c of fixtures.varianceLinearProgram) {
      const bound = censoredVarianceBound(intervals(c.intervals), c.sum).maxSumOfSquares;
      expect(Math.abs(bound - c.lpMax) / c.lpMax).toBeLessThan(1e-9);
    }
  });

  it(`the one-sided normal mixture's closed form equals quad integration over its prior: ${fixtures.normalMixture.length} cases`, () => {
    for (const c of fixtures.normalMixture) {
      expect(Math.abs(logNormalMixture(c.s, c.v, c.prior) - c.logE), JSON.stringify(c)).toBeLessThan(1e-7);
    }
  });
});
