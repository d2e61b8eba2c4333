import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closedFamilyRejections, familyLogEvidence } from '../../src/stats/metric-family.js';

/** Closed testing by brute force: i is rejected when every subset containing it has mean e-value >= 1/alpha. */
function bruteForce(e: number[], alpha: number): boolean[] {
  return e.map((_, i) => {
    for (let mask = 0; mask < 1 << e.length; mask++) {
      if (!(mask & (1 << i))) continue;
      const members = e.filter((_, j) => mask & (1 << j));
      if (members.reduce((a, b) => a + b, 0) / members.length < 1 / alpha) return false;
    }
    return true;
  });
}

describe('metric family (mean of e-values, e-closure)', () => {
  it('the sorted check finds the same rejections as every subset', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 2000, noNaN: true }), { minLength: 1, maxLength: 6 }),
        (e) => {
          expect(closedFamilyRejections(e.map(Math.log), 0.01)).toEqual(bruteForce(e, 0.01));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the joint evidence is the mean: two metrics at 2/alpha reach it where Bonferroni (4/alpha each) would not', () => {
    const l = familyLogEvidence([Math.log(200), Math.log(200), -Infinity, 0]);
    expect(Math.exp(l)).toBeCloseTo((200 + 200 + 0 + 1) / 4, 9);
    expect(Math.exp(l)).toBeGreaterThanOrEqual(100);
    // No single metric survives the closure here: the run fails on the joint evidence only.
    expect(closedFamilyRejections([Math.log(200), Math.log(200), -Infinity, 0], 0.01)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('never overflows: huge e-values are capped far above any threshold', () => {
    expect(Number.isFinite(familyLogEvidence([5000, 3000]))).toBe(true);
    expect(closedFamilyRejections([5000, -Infinity], 0.01)).toEqual([true, false]);
  });
});
