import { describe, expect, it } from 'vitest';
import {
  exponentialToExplicitNanos,
  histogramInNanos,
  nanosPerUnit,
} from '../../src/attribution/histogram-units.js';

describe('histogram units', () => {
  it.each([
    ['s', 1e9],
    ['ms', 1e6],
    ['us', 1e3],
    ['ns', 1],
  ])('converts %s to nanoseconds', (unit, factor) => {
    expect(nanosPerUnit(unit)).toBe(factor);
    expect(
      histogramInNanos(unit, { bounds: [1, 2.5], bucketCounts: [1, 2, 3] }, undefined)?.explicit?.bounds,
    ).toEqual([factor, 2.5 * factor]);
  });

  it('rounds away floating-point noise in second bounds', () => {
    expect(
      histogramInNanos('s', { bounds: [0.005, 0.075], bucketCounts: [0, 0, 0] }, undefined)?.explicit?.bounds,
    ).toEqual([5_000_000, 75_000_000]);
  });

  it('refuses units that are not time', () => {
    expect(histogramInNanos('By', { bounds: [1], bucketCounts: [1, 1] }, undefined)).toBeUndefined();
  });

  it('maps exponential buckets to explicit buckets with the same boundaries and folds zero and negative counts into the first', () => {
    const explicit = exponentialToExplicitNanos(
      {
        scale: 1,
        zeroCount: 2,
        zeroThreshold: 0,
        positive: { offset: 0, bucketCounts: [1, 4] },
        negative: { offset: 0, bucketCounts: [3] },
      },
      1e3,
    );
    // scale 1: base sqrt(2); bucket 0 = (1, 1.414], bucket 1 = (1.414, 2] (us).
    expect(explicit).toEqual({ bounds: [0, 1000, 1414, 2000], bucketCounts: [5, 0, 1, 4, 0] });
  });
});
