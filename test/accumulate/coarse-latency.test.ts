import { describe, expect, it } from 'vitest';
import { CoarseLatency } from '../../src/accumulate/coarse-latency.js';

describe('CoarseLatency', () => {
  it('adds counts of the same nominal bucket together and keeps the union of their min/max-tightened edges', () => {
    const c = new CoarseLatency();
    c.record(5e7, 7.5e7, 3, 6e7, 7e7);
    c.record(5e7, 7.5e7, 2, 0, 6.5e7);
    c.record(1e10, Infinity, 1, 0, 1.2e10);
    expect(c.intervals()).toEqual([
      { lowerNanos: 5e7, upperNanos: 7e7, count: 5 },
      { lowerNanos: 1e10, upperNanos: 1.2e10, count: 1 },
    ]);
    expect(c.count).toBe(6);
  });

  it('round-trips through JSON, infinite overflow edges included', () => {
    const c = new CoarseLatency();
    c.record(0, 5e6, 4);
    c.record(1e10, Infinity, 2);
    const back = CoarseLatency.fromSnapshot(JSON.parse(JSON.stringify(c.toSnapshot())));
    expect(back.intervals()).toEqual(c.intervals());
    expect(back.intervals()[1].upperNanos).toBe(Infinity);
  });

  it('past maxIntervals widens the narrowest union instead of growing, and counts it', () => {
    const c = new CoarseLatency(2);
    c.record(1e6, 2e6, 1);
    c.record(1e9, 2e9, 1);
    c.record(2.2e6, 3e6, 5);
    expect(c.size).toBe(2);
    expect(c.coarsened).toBe(1);
    expect(c.intervals()).toEqual([
      { lowerNanos: 1e6, upperNanos: 3e6, count: 6 },
      { lowerNanos: 1e9, upperNanos: 2e9, count: 1 },
    ]);
  });

  it('merges another store exactly', () => {
    const a = new CoarseLatency();
    const b = new CoarseLatency();
    a.record(0, 5e6, 4);
    b.record(0, 5e6, 1);
    b.record(5e6, 1e7, 2);
    a.mergeFrom(b);
    expect(a.intervals()).toEqual([
      { lowerNanos: 0, upperNanos: 5e6, count: 5 },
      { lowerNanos: 5e6, upperNanos: 1e7, count: 2 },
    ]);
  });
});
