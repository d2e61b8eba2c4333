import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexForValue, lowerBoundary } from '../../src/accumulate/exponential-mapping.js';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';

const NANOS_1US = 1e3;
const NANOS_1H = 3.6e12;

const latency = fc.double({ min: NANOS_1US, max: NANOS_1H, noNaN: true });
const sample = fc.array(latency, { maxLength: 200 });

function histogramOf(values: number[], maxBuckets?: number): LatencyHistogram {
  const h = new LatencyHistogram({ maxBuckets });
  for (const v of values) h.record(v);
  return h;
}

describe('exponential mapping', () => {
  it('puts every value in the bucket (base^i, base^(i+1)] at scales -3..8', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-3, max: 1e15, noNaN: true }),
        fc.integer({ min: -3, max: 8 }),
        (v, scale) => {
          const i = indexForValue(v, scale);
          // One ulp of slack at boundaries is allowed by the OTel spec.
          expect(lowerBoundary(i, scale)).toBeLessThanOrEqual(v * (1 + 1e-12));
          expect(lowerBoundary(i + 1, scale)).toBeGreaterThanOrEqual(v * (1 - 1e-12));
        },
      ),
    );
  });

  it('gives the index of the formula with 2 ** scale computed anew, at every scale the spec allows', () => {
    // indexForValue reads 2^scale from a table of exact powers (a pow call per judged span was ~3% of the CPU).
    const formula = (value: number, scale: number): number => {
      const exponent = Math.log2(value);
      if (Number.isInteger(exponent))
        return scale >= 0 ? exponent * 2 ** scale - 1 : Math.floor((exponent - 1) / 2 ** -scale);
      if (scale > 0) return Math.ceil(exponent * 2 ** scale) - 1;
      return Math.floor(Math.floor(exponent) / 2 ** -scale);
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: 2 ** -64, max: 2 ** 53, noNaN: true }),
          fc.integer({ min: -64, max: 53 }).map((k) => 2 ** k),
        ),
        fc.integer({ min: -10, max: 20 }),
        (value, scale) => {
          expect(indexForValue(value, scale)).toBe(formula(value, scale));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('puts exact powers of two in the bucket they close at scales >= 0', () => {
    for (const scale of [0, 3, 6]) {
      for (const k of [0, 1, 10, 40]) {
        expect(lowerBoundary(indexForValue(2 ** k, scale) + 1, scale)).toBe(2 ** k);
      }
    }
  });
});

describe('LatencyHistogram', () => {
  it('merge is commutative', () => {
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const ab = LatencyHistogram.merge(histogramOf(a), histogramOf(b)).toSnapshot();
        const ba = LatencyHistogram.merge(histogramOf(b), histogramOf(a)).toSnapshot();
        expect(ab).toEqual(ba);
      }),
    );
  });

  it('merge is associative, also when the union forces a downscale', () => {
    fc.assert(
      fc.property(sample, sample, sample, fc.constantFrom(8, 64, 4096), (a, b, c, maxBuckets) => {
        const [ha, hb, hc] = [a, b, c].map((x) => histogramOf(x, maxBuckets));
        const left = LatencyHistogram.merge(LatencyHistogram.merge(ha, hb), hc).toSnapshot();
        const right = LatencyHistogram.merge(ha, LatencyHistogram.merge(hb, hc)).toSnapshot();
        expect(left).toEqual(right);
      }),
    );
  });

  it('merging two histograms equals recording both samples into one', () => {
    fc.assert(
      fc.property(sample, sample, fc.constantFrom(16, 4096), (a, b, maxBuckets) => {
        const merged = LatencyHistogram.merge(histogramOf(a, maxBuckets), histogramOf(b, maxBuckets));
        expect(merged.toSnapshot()).toEqual(histogramOf([...a, ...b], maxBuckets).toSnapshot());
      }),
    );
  });

  it('merging an empty histogram changes nothing', () => {
    fc.assert(
      fc.property(sample, (a) => {
        const h = histogramOf(a);
        expect(LatencyHistogram.merge(h, new LatencyHistogram()).toSnapshot()).toEqual(h.toSnapshot());
      }),
    );
  });

  it('quantiles are within 1% of the exact nearest-rank quantile from 1 us to 1 h', () => {
    fc.assert(
      fc.property(
        fc.array(latency, { minLength: 1, maxLength: 500 }),
        fc.constantFrom(0.01, 0.5, 0.9, 0.95, 0.99, 1),
        (values, q) => {
          const h = histogramOf(values);
          expect(h.scale).toBe(6);
          const sorted = [...values].sort((x, y) => x - y);
          const exact = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
          expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.01);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps at most maxBuckets buckets however wide the data, by downscaling', () => {
    const h = new LatencyHistogram({ maxBuckets: 32 });
    for (let v = 1; v < 1e15; v *= 1.7) h.record(v);
    const s = h.toSnapshot();
    expect(s.counts.length).toBeLessThanOrEqual(32);
    expect(h.scale).toBeLessThan(6);
    expect(h.count).toBe(s.counts.reduce((a, b) => a + b, 0));
  });

  it('serializes to JSON and back without loss', () => {
    fc.assert(
      fc.property(sample, fc.nat(5), (a, zeros) => {
        const h = histogramOf(a);
        h.recordZeros(zeros);
        const back = LatencyHistogram.fromSnapshot(JSON.parse(JSON.stringify(h.toSnapshot())));
        expect(back.toSnapshot()).toEqual(h.toSnapshot());
        expect(back.count).toBe(a.length + zeros);
      }),
    );
  });

  it('clones to what a snapshot round trip gives, and a write to the clone leaves the original alone', () => {
    fc.assert(
      fc.property(sample, fc.nat(5), sample, (a, zeros, more) => {
        const h = histogramOf(a);
        h.recordZeros(zeros);
        const before = h.toSnapshot();
        const clone = h.clone();
        const roundTrip = LatencyHistogram.fromSnapshot(h.toSnapshot());
        expect(clone.toSnapshot()).toEqual(roundTrip.toSnapshot());
        expect(Array.isArray(clone.toSnapshot().counts)).toBe(true);
        expect(clone.count).toBe(roundTrip.count);
        // The clone's counts turn writable on the first write: the same writes give the same histogram.
        for (const v of more) {
          clone.record(v);
          roundTrip.record(v);
        }
        clone.mergeFrom(histogramOf([1, 1e15]));
        roundTrip.mergeFrom(histogramOf([1, 1e15]));
        expect(clone.toSnapshot()).toEqual(roundTrip.toSnapshot());
        expect(h.toSnapshot()).toEqual(before);
      }),
    );
  });

  it('gives its buckets as arrays exactly as forEachBucket visits them', () => {
    fc.assert(
      fc.property(sample, fc.nat(5), fc.boolean(), (a, zeros, cloned) => {
        const h = histogramOf(a);
        h.recordZeros(zeros);
        const source = cloned ? h.clone() : h;
        const lowers: number[] = [];
        const uppers: number[] = [];
        const cumulative: number[] = [];
        let n = 0;
        source.forEachBucket((lo, hi, count) => {
          lowers.push(lo);
          uppers.push(hi);
          cumulative.push((n += count));
        });
        expect(source.bucketArrays()).toEqual({ lowers, uppers, cumulative });
      }),
    );
  });

  it('counts zero durations in the zero bucket and reports them as quantile 0', () => {
    const h = new LatencyHistogram();
    h.record(0, 3);
    h.record(5000);
    expect(h.zeroCount).toBe(3);
    expect(h.quantile(0.5)).toBe(0);
    expect(h.quantile(1)).toBeCloseTo(5000, -2);
  });

  it('returns NaN quantiles when empty', () => {
    expect(new LatencyHistogram().quantile(0.5)).toBeNaN();
  });

  it('ingests a bucket from a coarser scale by downscaling itself', () => {
    const h = histogramOf([1000, 2000]);
    h.recordBucket(indexForValue(1500, 2), 2, 4);
    expect(h.scale).toBe(2);
    expect(h.count).toBe(6);
  });
});
