import { describe, expect, it } from 'vitest';
import { fisherExactTest } from '../../src/stats/fisher-exact-test.js';
import { CLOSED_FORM, expectClose, reference } from './reference-fixtures.js';

describe('fisherExactTest', () => {
  it(`matches scipy fisher_exact two-sided on ${reference.fisherExact.length} tables up to 400,000`, () => {
    for (const [i, c] of reference.fisherExact.entries()) {
      const r = fisherExactTest(...c.table);
      expectClose(r.pValue, c.pValue, CLOSED_FORM, 0, `case ${i} p`);
      const odds = c.oddsRatio === 'inf' ? Infinity : c.oddsRatio === 'nan' ? NaN : Number(c.oddsRatio);
      if (Number.isNaN(odds)) expect(r.oddsRatio).toBeNaN();
      else expectClose(r.oddsRatio, odds, CLOSED_FORM, 0, `case ${i} odds`);
    }
  });

  it('gives p = 1 for a table with an empty margin', () => {
    expect(fisherExactTest(0, 0, 3, 5).pValue).toBe(1);
  });
});
