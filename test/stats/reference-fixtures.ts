// Loads test/fixtures/stats/reference.json (made by make_fixtures.py with SciPy and R) and compares numbers
// at a relative tolerance; CI needs neither Python nor R.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { TiedSample } from '../../src/stats/tied-sample.js';

export interface ReferenceFixtures {
  mannWhitneyU: {
    x: TiedSample;
    y: TiedSample;
    alternative: 'two-sided' | 'greater' | 'less';
    u1: number;
    pValue: number;
  }[];
  hodgesLehmann: {
    x: TiedSample;
    y: TiedSample;
    confidence: number;
    estimate: number;
    lower: number;
    upper: number;
  }[];
  twoProportion: {
    x1: number;
    n1: number;
    x2: number;
    n2: number;
    pValue: number;
    lower: number;
    upper: number;
  }[];
  fisherExact: { table: [number, number, number, number]; oddsRatio: number | string; pValue: number }[];
  chiSquared: { observed: number[]; shares: number[]; statistic: number; pValue: number }[];
  orderStatistics: { n: number; q: number; confidence: number; lowerRank: number; upperRank: number }[];
  normal: { cdf: { x: number; cdf: number; sf: number }[]; quantile: { p: number; x: number }[] };
  logGamma: { x: number; logGamma: number }[];
}

export const reference: ReferenceFixtures = JSON.parse(
  readFileSync(new URL('../fixtures/stats/reference.json', import.meta.url), 'utf8'),
) as ReferenceFixtures;

/** Closed forms: 1e-9 relative. */
export const CLOSED_FORM = 1e-9;
/** Root-finding: 1e-6 relative. */
export const ROOT_FINDING = 1e-6;

/** |actual - expected| <= rel * max(|expected|, floor); `floor` keeps values near 0 from demanding absurd precision. */
export function expectClose(actual: number, expected: number, rel: number, floor = 0, label = ''): void {
  if (!Number.isFinite(expected)) {
    expect(actual, label).toBe(expected);
    return;
  }
  const scale = Math.max(Math.abs(expected), floor);
  expect(Math.abs(actual - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * scale);
}
