import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedFailures } from '../../bench/sim/binomial-bounds.js';
import { Random } from '../../bench/sim/random.js';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import {
  betaBinomialConcentration,
  logBetaBinomialMixture,
  priorMassBelow,
} from '../../src/stats/quantile-confidence-sequence.js';
import { twoSampleQuantilePValue } from '../../src/stats/quantile-two-sample.js';
import { rankedBuckets, type RankedBuckets, rankedIntervals } from '../../src/stats/ranked-buckets.js';

function histogram(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return h;
}

const WEIGHTS = { a: 0.375, b: 0.125, ab: 0.5 };

/** The same p-value by brute force: G at y = 0 and on every interval between bucket positions. */
function bruteForce(
  a: RankedBuckets<number[]>,
  b: RankedBuckets<number[]>,
  q: number,
  limit: number,
  ca: number,
  cb: number,
) {
  const side = (r: RankedBuckets, c: number, lower: boolean) => (count: number) => {
    if (lower ? !(count < r.n * q) : !(count > r.n * q)) return 0;
    const w = priorMassBelow(q, c);
    const m = Math.exp(Math.min(700, logBetaBinomialMixture(count, r.n, q, c)));
    // 0 unless M > 1: where M <= 1 the bound may rise with the count (M is convex in it), so it is not used.
    if (m <= 1) return 0;
    const weight = lower ? w : 1 - w;
    return Math.max(0, (m - (1 - weight)) / weight);
  };
  const eA = side(a, ca, true);
  const eB = side(b, cb, false);
  const g = (countA: number, countB: number) =>
    WEIGHTS.a * eA(countA) + WEIGHTS.b * eB(countB) + WEIGHTS.ab * eA(countA) * eB(countB);
  // lo / limit <= y, as the positions are computed (lo <= limit y can differ by rounding).
  const countA = (y: number) =>
    a.lower.edges.reduce(
      (s, lo, i) => s + (lo / limit <= y ? a.lower.cumulative[i] - (a.lower.cumulative[i - 1] ?? 0) : 0),
      0,
    );
  const countB = (y: number) =>
    b.upper.edges.reduce(
      (s, hi, j) => s + (hi <= y ? b.upper.cumulative[j] - (b.upper.cumulative[j - 1] ?? 0) : 0),
      0,
    );
  const positions = [0, ...a.lower.edges.map((lo) => lo / limit), ...b.upper.edges].sort((x, y) => x - y);
  let inf = g(countA(0), 0);
  for (const p of positions) inf = Math.min(inf, g(countA(p), countB(p)));
  return Math.min(1, Math.max(1e-12, 1 / inf));
}

describe('two-sample quantile mixture test', () => {
  it('its pruned search finds the same infimum as a scan of every interval', () => {
    const sampleOf = (scale: number) =>
      fc.array(
        fc.oneof(
          fc.double({ min: 1, max: 3, noNaN: true }).map((x) => x * scale * 1e6),
          fc.constantFrom(0, 2e6 * scale),
        ),
        { minLength: 30, maxLength: 500 },
      );
    fc.assert(
      fc.property(
        sampleOf(1),
        sampleOf(1.3),
        fc.constantFrom(0.5, 0.95),
        fc.constantFrom(1, 1.1),
        (b, c, q, limit) => {
          const cr = rankedBuckets(histogram(c));
          const br = rankedBuckets(histogram(b));
          const p = twoSampleQuantilePValue(cr, br, q, limit, 20, 80, WEIGHTS);
          const expected = bruteForce(cr, br, q, limit, 20, 80);
          expect(Math.abs(Math.log(p) - Math.log(expected))).toBeLessThan(1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('on overlapping coarse intervals (explicit buckets beside fine ones) its search still finds the infimum of every interval', () => {
    const interval = (scale: number) =>
      fc
        .tuple(
          fc.double({ min: 0.5, max: 3, noNaN: true }),
          fc.double({ min: 1, max: 2.5, noNaN: true }),
          fc.integer({ min: 1, max: 60 }),
          fc.boolean(),
        )
        .map(([lo, width, count, open]) => ({
          lowerNanos: lo * scale * 1e6,
          upperNanos: open ? Infinity : lo * width * scale * 1e6,
          count,
        }));
    fc.assert(
      fc.property(
        fc.array(interval(1), { minLength: 1, maxLength: 12 }),
        fc.array(interval(1.4), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(0.5, 0.95),
        fc.constantFrom(1, 1.1),
        (b, c, q, limit) => {
          const cr = rankedIntervals(c);
          const br = rankedIntervals(b);
          const p = twoSampleQuantilePValue(cr, br, q, limit, 20, 80, WEIGHTS);
          expect(Math.abs(Math.log(p) - Math.log(bruteForce(cr, br, q, limit, 20, 80)))).toBeLessThan(1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects at most alpha of continuously monitored runs when the canary is the same or faster', () => {
    const alpha = 0.05;
    const q = 0.95;
    const ca = betaBinomialConcentration(500, 0.75 * alpha);
    const cb = betaBinomialConcentration(4500, 0.25 * alpha);
    for (const [speed, seed] of [
      [1, 1],
      [0.97, 2],
    ]) {
      const random = new Random(seed);
      let rejected = 0;
      const runs = 200;
      for (let run = 0; run < runs; run++) {
        const canary = new LatencyHistogram();
        const baseline = new LatencyHistogram();
        for (let look = 0; look < 40; look++) {
          for (let i = 0; i < 100; i++) {
            const v = -Math.log(1 - random.uniform()) * 1e6;
            if (random.uniform() < 0.1) canary.record(v * speed);
            else baseline.record(v);
          }
          if (
            twoSampleQuantilePValue(rankedBuckets(canary), rankedBuckets(baseline), q, 1, ca, cb, WEIGHTS) <=
            alpha
          ) {
            rejected++;
            break;
          }
        }
      }
      expect(rejected).toBeLessThanOrEqual(allowedFailures(runs, alpha));
    }
  });

  it('gives no evidence for identical arms, all values tied, or quantiles in the zero bucket', () => {
    const same = new LatencyHistogram();
    same.record(20e6, 50_000);
    const r = rankedBuckets(same);
    expect(twoSampleQuantilePValue(r, r, 0.95, 1, 60, 500, WEIGHTS)).toBe(1);
    const zeros = (n: number, rest: number) => {
      const h = new LatencyHistogram();
      h.record(0, n);
      h.record(30e6, rest);
      return rankedBuckets(h);
    };
    // p95 of both arms is 0 (97% zeros): H0 holds however many samples arrive.
    expect(twoSampleQuantilePValue(zeros(9700, 300), zeros(97_000, 3000), 0.95, 1, 60, 500, WEIGHTS)).toBe(1);
    expect(twoSampleQuantilePValue(rankedBuckets(new LatencyHistogram()), r, 0.5, 1, 60, 500)).toBe(1);
  });

  it('detects a canary whose p95 is 30% higher', () => {
    const random = new Random(3);
    const canary = new LatencyHistogram();
    const baseline = new LatencyHistogram();
    for (let i = 0; i < 2000; i++) canary.record(-Math.log(1 - random.uniform()) * 1.3e6);
    for (let i = 0; i < 18_000; i++) baseline.record(-Math.log(1 - random.uniform()) * 1e6);
    const p = twoSampleQuantilePValue(rankedBuckets(canary), rankedBuckets(baseline), 0.95, 1, 60, 500);
    expect(p).toBeLessThan(1e-3);
  });
});
