// The chart point's stored JSON is built from the recorder's key (the point's JSON without its time) instead of
// stringifying the point a second time (judge/run-series.ts pointJson): it must be exactly JSON.stringify(point).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pointJson } from '../../src/judge/run-series.js';

const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1e21, 5e-324),
);
const stored = fc.option(number, { nil: null });

const point = fc.record({
  atMs: number,
  stage: fc.integer({ min: 1, max: 20 }),
  verdict: fc.string(),
  samples: fc.record({ baseline: fc.nat(), canary: fc.nat() }),
  split: fc.option(fc.record({ expected: stored, observed: stored, alwaysValidPValue: number }), {
    nil: null,
  }),
  metrics: fc.array(
    fc.record({
      id: fc.string(),
      estimate: stored,
      lower: stored,
      lowerLevel: number,
      upper: stored,
      decision: fc.constantFrom('fail', 'pass', 'running'),
      worsePValue: number,
      withinPValue: number,
      samples: fc.record({ baseline: fc.nat(), canary: fc.nat() }),
    }),
    { maxLength: 4 },
  ),
});

describe('chart point JSON from the recorder key', () => {
  it('equals JSON.stringify of the point', () => {
    fc.assert(
      fc.property(point, (p) => {
        const { atMs, ...content } = p;
        expect(pointJson(atMs, JSON.stringify(content))).toBe(JSON.stringify(p));
      }),
      { numRuns: 500, seed: 13 },
    );
  });

  it('holds for a point with nothing but its time', () => {
    expect(pointJson(5, '{}')).toBe(JSON.stringify({ atMs: 5 }));
  });
});
