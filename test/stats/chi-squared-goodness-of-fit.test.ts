import { describe, expect, it } from 'vitest';
import { chiSquaredGoodnessOfFit } from '../../src/stats/chi-squared-goodness-of-fit.js';
import { CLOSED_FORM, expectClose, reference } from './reference-fixtures.js';

describe('chiSquaredGoodnessOfFit', () => {
  it(`matches scipy chisquare on ${reference.chiSquared.length} splits of 2..6 categories`, () => {
    for (const [i, c] of reference.chiSquared.entries()) {
      const r = chiSquaredGoodnessOfFit(c.observed, c.shares);
      expectClose(r.statistic, c.statistic, CLOSED_FORM, 1e-12, `case ${i} statistic`);
      expectClose(r.pValue, c.pValue, CLOSED_FORM, 0, `case ${i} p`);
    }
  });

  it('gives p = 1 with no traffic at all', () => {
    expect(chiSquaredGoodnessOfFit([0, 0], [0.9, 0.1]).pValue).toBe(1);
  });
});
