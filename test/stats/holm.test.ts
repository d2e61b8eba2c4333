import { describe, expect, it } from 'vitest';
import { holmRejections } from '../../src/stats/holm.js';

describe('holmRejections', () => {
  it('steps down from alpha/m and stops at the first non-rejection', () => {
    expect(holmRejections([0.004, 0.03, 0.012, 0.5], 0.05)).toEqual([true, false, true, false]);
    expect(holmRejections([0.02, 0.013], 0.05)).toEqual([true, true]);
    expect(holmRejections([0.026, 0.03], 0.05)).toEqual([false, false]);
  });
});
