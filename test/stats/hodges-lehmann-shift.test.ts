import { describe, expect, it } from 'vitest';
import { hodgesLehmannShift } from '../../src/stats/hodges-lehmann-shift.js';
import { tiedSampleOf } from '../../src/stats/tied-sample.js';
import { ROOT_FINDING, expectClose, reference } from './reference-fixtures.js';

describe('hodgesLehmannShift', () => {
  it(`matches R wilcox.test(conf.int=TRUE, exact=FALSE) on ${reference.hodgesLehmann.length} cases`, () => {
    for (const [i, c] of reference.hodgesLehmann.entries()) {
      const r = hodgesLehmannShift(c.x, c.y, c.confidence);
      // Root-finding tolerance, relative to the data's spread so that a root near 0 is judged fairly.
      const spread = c.x.values[c.x.values.length - 1] - c.y.values[0];
      expectClose(r.estimate, c.estimate, ROOT_FINDING, spread, `case ${i} estimate`);
      expectClose(r.lower, c.lower, ROOT_FINDING, spread, `case ${i} lower`);
      expectClose(r.upper, c.upper, ROOT_FINDING, spread, `case ${i} upper`);
    }
  });

  it('returns NaN where R cannot compute (one value per side)', () => {
    expect(hodgesLehmannShift(tiedSampleOf([1]), tiedSampleOf([2])).estimate).toBeNaN();
  });
});
