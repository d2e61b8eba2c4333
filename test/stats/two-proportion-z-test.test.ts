import { describe, expect, it } from 'vitest';
import { twoProportionZTest } from '../../src/stats/two-proportion-z-test.js';
import { CLOSED_FORM, expectClose, reference } from './reference-fixtures.js';

describe('twoProportionZTest', () => {
  it(`matches R prop.test(correct=FALSE) p-value and interval on ${reference.twoProportion.length} cases`, () => {
    for (const [i, c] of reference.twoProportion.entries()) {
      const r = twoProportionZTest(c.x1, c.n1, c.x2, c.n2);
      expectClose(r.pValue, c.pValue, CLOSED_FORM, 0, `case ${i} p`);
      expectClose(r.lower, c.lower, CLOSED_FORM, 1e-12, `case ${i} lower`);
      expectClose(r.upper, c.upper, CLOSED_FORM, 1e-12, `case ${i} upper`);
    }
  });

  it('reports no evidence (p = 1) when neither arm has an error', () => {
    const r = twoProportionZTest(0, 100, 0, 900);
    expect([r.z, r.pValue, r.difference]).toEqual([0, 1, 0]);
  });
});
