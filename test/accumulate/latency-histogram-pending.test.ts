// A histogram without buckets keeps its first values as they came and builds its buckets on the next other
// call (latency-histogram.ts, `pending`: held slices of 1 000 runs under traffic made most of what each
// young-generation collection copied, issue 13). Every answer must be the one recording each value at once
// gives: the same operations are applied to two histograms, one of them read after every step (so it never
// keeps a value pending), and both must agree on every read and on their snapshots, bit for bit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram, PENDING_VALUES } from '../../src/accumulate/latency-histogram.js';

type Step =
  | { op: 'record'; value: number; count: number }
  | { op: 'bucket'; index: number; scale: number; count: number }
  | { op: 'zeros'; count: number; threshold: number }
  | { op: 'merge'; values: number[] }
  | { op: 'read'; rank: number };

const value = fc.oneof(
  fc.double({ min: 1e3, max: 3.6e12, noNaN: true }),
  fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e-30, 1e20),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('record' as const), value, count: fc.constant(1) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('record' as const),
      value,
      count: fc.integer({ min: 0, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('bucket' as const),
      index: fc.integer({ min: -2000, max: 3000 }),
      scale: fc.integer({ min: 0, max: 8 }),
      count: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('zeros' as const),
      count: fc.integer({ min: 0, max: 3 }),
      threshold: fc.constantFrom(0, 1e3, 5e5),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('merge' as const), values: fc.array(value, { maxLength: 20 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('read' as const), rank: fc.integer({ min: 1, max: 60 }) }),
  },
);

function apply(h: LatencyHistogram, s: Step): unknown {
  switch (s.op) {
    case 'record':
      h.record(s.value, s.count);
      return undefined;
    case 'bucket':
      h.recordBucket(s.index, s.scale, s.count);
      return undefined;
    case 'zeros':
      h.recordZeros(s.count, s.threshold);
      return undefined;
    case 'merge': {
      // The other histogram keeps its values pending too: a merge must take them.
      const other = new LatencyHistogram({ maxBuckets: 160 });
      for (const v of s.values) other.record(v);
      h.mergeFrom(other);
      return undefined;
    }
    case 'read':
      return [h.count, h.zeroCount, h.scale, h.quantile(0.5), h.bucketAtRank(s.rank), h.bucketArrays()];
  }
}

describe('latency histogram: values kept pending until the buckets are needed', () => {
  it('answers every read, merge and snapshot as recording each value at once does', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.constantFrom(160, 4096), (steps, maxBuckets) => {
        const lazy = new LatencyHistogram({ maxBuckets });
        const eager = new LatencyHistogram({ maxBuckets });
        for (const s of steps) {
          const answer = apply(lazy, s);
          expect(apply(eager, s)).toEqual(answer);
          void eager.count; // a read: nothing stays pending in `eager`
        }
        const copy = lazy.clone();
        expect(copy.toSnapshot()).toEqual(eager.clone().toSnapshot());
        expect(lazy.buckets()).toEqual(eager.buckets());
        expect(lazy.toSnapshot()).toEqual(eager.toSnapshot());
        expect(LatencyHistogram.merge(eager, lazy).toSnapshot()).toEqual(
          LatencyHistogram.merge(eager, eager).toSnapshot(),
        );
      }),
      { numRuns: 400, seed: 13 },
    );
  });

  it('keeps at most PENDING_VALUES values before it builds its buckets, and only while it has none', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < PENDING_VALUES; i++) h.record(1e6 * (i + 1));
    const pending = (x: LatencyHistogram) => (x as unknown as { pending?: number[] }).pending?.length ?? 0;
    expect(pending(h)).toBe(PENDING_VALUES);
    h.record(5e7);
    expect([pending(h), h.count]).toEqual([0, PENDING_VALUES + 1]);
    h.record(6e7); // it has buckets now: recorded at once
    expect(pending(h)).toBe(0);
    const quiet = new LatencyHistogram();
    quiet.record(1e6);
    expect([pending(quiet), quiet.count, pending(quiet)]).toEqual([1, 1, 0]);
  });
});
