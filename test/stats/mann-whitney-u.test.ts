import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import { mannWhitneyU } from '../../src/stats/mann-whitney-u.js';
import { tiedSampleOf, tiedSampleOfHistogram } from '../../src/stats/tied-sample.js';
import { CLOSED_FORM, expectClose, reference } from './reference-fixtures.js';

describe('mannWhitneyU', () => {
  it(`matches scipy mannwhitneyu(method="asymptotic") on ${reference.mannWhitneyU.length} tied, skewed and tiny cases`, () => {
    for (const [i, c] of reference.mannWhitneyU.entries()) {
      const r = mannWhitneyU(c.x, c.y, c.alternative);
      expectClose(r.u1, c.u1, CLOSED_FORM, 0, `case ${i} U`);
      expectClose(r.pValue, c.pValue, CLOSED_FORM, 0, `case ${i} p`);
    }
  });

  it('gives p = 1 when every value is tied', () => {
    expect(mannWhitneyU(tiedSampleOf([3, 3]), tiedSampleOf([3, 3, 3])).pValue).toBe(1);
  });

  it('ranks histogram buckets as ties and detects a 20% slowdown', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 1; i <= 2000; i++) {
      a.record(1e6 * (1 + (i % 100) / 100));
      b.record(1.2e6 * (1 + (i % 100) / 100));
    }
    const r = mannWhitneyU(tiedSampleOfHistogram(b), tiedSampleOfHistogram(a), 'greater');
    expect(r.pValue).toBeLessThan(1e-10);
  });
});
