import { describe, it } from 'vitest';
import { logGamma } from '../../src/stats/log-gamma.js';
import { CLOSED_FORM, expectClose, reference } from './reference-fixtures.js';

describe('logGamma', () => {
  it(`matches scipy.special.gammaln from 1e-3 to 3.3e7 (${reference.logGamma.length} points)`, () => {
    // Floor 1e-3, i.e. 1e-12 absolute, where ln Gamma crosses 0 (x = 1, 2).
    for (const c of reference.logGamma) expectClose(logGamma(c.x), c.logGamma, CLOSED_FORM, 1e-3, `x=${c.x}`);
  });
});
