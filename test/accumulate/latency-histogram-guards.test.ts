// The accumulator's last guards (issue 9, case 2): whatever reaches it, every bucket edge stays a finite
// double, the index range stays within the bucket limit, and the total stays an exact integer.
import { describe, expect, it } from 'vitest';
import { CoarseLatency } from '../../src/accumulate/coarse-latency.js';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { recordExplicitBuckets, recordExponentialBuckets } from '../../src/accumulate/otlp-buckets.js';
import { MAX_LATENCY_NANOS } from '../../src/otlp/model.js';

function edgesFinite(h: LatencyHistogram): boolean {
  return h.buckets().every((b) => Number.isFinite(b.lowerNanos) && Number.isFinite(b.upperNanos));
}

describe('latency histogram guards', () => {
  it('clamps infinite and huge values to the top of the latency range', () => {
    const h = new LatencyHistogram();
    h.record(Infinity, 2);
    h.record(Number.MAX_VALUE, 1);
    h.record(1e6, 1);
    expect(h.count).toBe(4);
    expect(edgesFinite(h)).toBe(true);
    expect(h.quantile(1)).toBeLessThanOrEqual(MAX_LATENCY_NANOS * 1.01);
  });

  it('clamps an exponential bucket index of 2^31 - 1 at scale 20 into range', () => {
    const h = new LatencyHistogram();
    h.recordBucket(2 ** 31 - 1, 20, 5);
    h.recordBucket(-(2 ** 31), 20, 5);
    expect(h.count).toBe(10);
    expect(edgesFinite(h)).toBe(true);
    expect(h.buckets().length).toBeLessThanOrEqual(4096);
  });

  it('refuses counts that are not whole and positive, or that would take the total past 2^53 - 1', () => {
    const h = new LatencyHistogram();
    h.record(1e6, NaN);
    h.record(1e6, 0.5);
    h.record(1e6, -3);
    h.recordBucket(1300, 6, Infinity);
    expect(h.count).toBe(0);
    h.record(1e6, Number.MAX_SAFE_INTEGER);
    h.record(2e6, 1);
    expect(h.count).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('records nothing from points that break the OTLP rules when they reach it directly', () => {
    const h = new LatencyHistogram();
    const coarse = new CoarseLatency();
    expect(recordExplicitBuckets(h, coarse, { bounds: [1e6, Infinity], bucketCounts: [1, 1, 1] })).toBe(0);
    expect(recordExplicitBuckets(h, coarse, { bounds: [2e6, 1e6], bucketCounts: [1, 1, 1] })).toBe(0);
    recordExponentialBuckets(h, coarse, {
      scale: 40,
      zeroCount: 0,
      zeroThreshold: 0,
      positive: { offset: 0, bucketCounts: [1] },
      negative: { offset: 0, bucketCounts: [] },
    });
    expect(h.count + coarse.count).toBe(0);
    // A valid explicit point is interval-censored: its buckets go to the coarse store with their edges.
    expect(recordExplicitBuckets(h, coarse, { bounds: [1e6, 2e6], bucketCounts: [1, 1, 1] })).toBe(3);
    expect(coarse.count).toBe(3);
  });
});
