import { describe, expect, it } from 'vitest';
import { logGamma } from '../../src/stats/log-gamma.js';
import { sequentialSampleRatioPValue } from '../../src/stats/sequential-sample-ratio-test.js';

describe('sequentialSampleRatioPValue', () => {
  it('equals 1 / Bayes factor of the Dirichlet-multinomial, computed term by term', () => {
    const [n0, n1, a0, a1] = [37, 8, 900, 100];
    const logBf =
      logGamma(1000) -
      logGamma(1000 + 45) +
      logGamma(a0 + n0) -
      logGamma(a0) +
      logGamma(a1 + n1) -
      logGamma(a1) -
      n0 * Math.log(0.9) -
      n1 * Math.log(0.1);
    expect(sequentialSampleRatioPValue([n0, n1], [0.9, 0.1], 1000)).toBeCloseTo(
      Math.min(1, Math.exp(-logBf)),
      12,
    );
  });

  it('stays large for a split that matches and is tiny for 12% instead of 10% after 100,000 requests', () => {
    expect(sequentialSampleRatioPValue([90000, 10000], [0.9, 0.1])).toBeGreaterThan(0.5);
    expect(sequentialSampleRatioPValue([88000, 12000], [0.9, 0.1])).toBeLessThan(1e-10);
  });

  it('is 1 with no traffic', () => {
    expect(sequentialSampleRatioPValue([0, 0], [0.9, 0.1])).toBe(1);
  });
});
