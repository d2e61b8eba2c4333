// Mann-Whitney U test, normal approximation with tie and continuity correction, computed exactly as
// scipy.stats.mannwhitneyu(x, y, method="asymptotic") (SciPy 1.17, stats/_mannwhitneyu.py):
//   U1 = R1 - n1(n1+1)/2, mu = n1 n2 / 2,
//   s = sqrt(n1 n2 / 12 * ((n+1) - sum(t^3 - t) / (n(n-1)))),
//   two-sided: z = (max(U1, U2) - mu - 0.5) / s, p = min(1, 2 * sf(z)); greater: U1; less: U2.
// Ranks come from tied samples (mid-ranks per distinct value), so histograms cost O(buckets).
import { normalSf } from './normal-distribution.js';
import { type TiedSample, tiedSampleSize } from './tied-sample.js';

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitneyUResult {
  /** U of the first sample (SciPy's `statistic`). */
  u1: number;
  z: number;
  pValue: number;
}

/** Rank sum of x and the tie term sum(t^3 - t) over the pooled sample. */
export function rankSumAndTies(x: TiedSample, y: TiedSample): { rankSumX: number; tieTerm: number } {
  let i = 0;
  let j = 0;
  let seen = 0;
  let rankSumX = 0;
  let tieTerm = 0;
  // Each pass takes the smaller head (both when tied), and at least one: a NaN head compares false both
  // ways and is taken as a tie, so the loop ends after at most |x| + |y| passes whatever the values.
  while (i < x.values.length || j < y.values.length) {
    const hasX = i < x.values.length;
    const hasY = j < y.values.length;
    const takeX = hasX && (!hasY || !(y.values[j] < x.values[i]));
    const takeY = hasY && (!hasX || !(x.values[i] < y.values[j]));
    const cx = takeX ? x.counts[i++] : 0;
    const cy = takeY ? y.counts[j++] : 0;
    const t = cx + cy;
    rankSumX += cx * (seen + (t + 1) / 2);
    tieTerm += t * t * t - t;
    seen += t;
  }
  return { rankSumX, tieTerm };
}

export function mannWhitneyU(
  x: TiedSample,
  y: TiedSample,
  alternative: Alternative = 'two-sided',
): MannWhitneyUResult {
  const n1 = tiedSampleSize(x);
  const n2 = tiedSampleSize(y);
  if (n1 === 0 || n2 === 0) return { u1: NaN, z: NaN, pValue: NaN };
  const { rankSumX, tieTerm } = rankSumAndTies(x, y);
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const u = alternative === 'greater' ? u1 : alternative === 'less' ? u2 : Math.max(u1, u2);
  const n = n1 + n2;
  const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = (u - (n1 * n2) / 2 - 0.5) / s;
  // All values tied: s = 0 and z = -inf, where SciPy's sf gives 1 (two-sided: min(1, 2)).
  const sf = Number.isNaN(z) ? 1 : normalSf(z);
  const p = (alternative === 'two-sided' ? 2 : 1) * sf;
  return { u1, z, pValue: Math.min(1, Math.max(0, p)) };
}
