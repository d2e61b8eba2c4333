import { describe, it } from 'vitest';
import { normalCdf, normalQuantile, normalSf } from '../../src/stats/normal-distribution.js';
import { CLOSED_FORM, expectClose, reference } from './reference-fixtures.js';

describe('normal distribution', () => {
  it('cdf and sf match scipy.stats.norm to 1e-9 relative, deep tails included', () => {
    for (const c of reference.normal.cdf) {
      expectClose(normalCdf(c.x), c.cdf, CLOSED_FORM, 0, `cdf(${c.x})`);
      expectClose(normalSf(c.x), c.sf, CLOSED_FORM, 0, `sf(${c.x})`);
    }
  });

  it('quantile matches scipy.stats.norm.ppf to 1e-9 relative from 1e-300 to 1 - 1e-6', () => {
    for (const c of reference.normal.quantile)
      expectClose(normalQuantile(c.p), c.x, CLOSED_FORM, 1e-12, `ppf(${c.p})`);
  });
});
