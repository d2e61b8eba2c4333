// Hodges-Lehmann location shift (x minus y) and its confidence interval, computed as R's
// wilcox.test(x, y, conf.int = TRUE, exact = FALSE) does (R 4.2, stats:::wilcox.test.default): the interval
// ends are roots of the continuity-corrected normal approximation
//   W(d) = (R_x(d) - nx(nx+1)/2 - nx ny/2 - sign * 0.5) / sigma(d),
// where R_x(d) is the rank sum of x - d in c(x - d, y) and sigma(d) carries the tie correction, found by
// uniroot (Brent, tol 1e-4) between min(x) - max(y) and max(x) - min(y); the estimate is the root of W
// without continuity correction. Ties are exact double equality, as in R with digits.rank = Inf.
import { brentRoot } from './brent-root.js';
import { normalQuantile } from './normal-distribution.js';
import { type TiedSample, tiedSampleSize } from './tied-sample.js';

export interface HodgesLehmannResult {
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
}

const ROOT_TOLERANCE = 1e-4;

/** R's W(d) for tied samples, in O(distinct values). */
function standardizedRankSum(x: TiedSample, y: TiedSample, d: number, correct: boolean): number {
  const nx = tiedSampleSize(x);
  const ny = tiedSampleSize(y);
  let i = 0;
  let j = 0;
  let seen = 0;
  let rankSum = 0;
  let tieTerm = 0;
  // As in mann-whitney-u.ts: every pass takes at least one head, so at most |x| + |y| passes even when
  // x - d is NaN (an infinite value shifted by an infinite d used to stop this loop advancing for ever).
  while (i < x.values.length || j < y.values.length) {
    const hasX = i < x.values.length;
    const hasY = j < y.values.length;
    const vx = hasX ? x.values[i] - d : Infinity;
    const vy = hasY ? y.values[j] : Infinity;
    const takeX = hasX && (!hasY || !(vy < vx));
    const takeY = hasY && (!hasX || !(vx < vy));
    const cx = takeX ? x.counts[i++] : 0;
    const cy = takeY ? y.counts[j++] : 0;
    const t = cx + cy;
    rankSum += cx * (seen + (t + 1) / 2);
    tieTerm += t * t * t - t;
    seen += t;
  }
  const dz = rankSum - (nx * (nx + 1)) / 2 - (nx * ny) / 2;
  const correction = correct ? Math.sign(dz) * 0.5 : 0;
  const sigma = Math.sqrt(((nx * ny) / 12) * (nx + ny + 1 - tieTerm / ((nx + ny) * (nx + ny - 1))));
  return (dz - correction) / sigma;
}

/**
 * Returns NaNs where R stops with an error: an empty sample, min(x) - max(y) = max(x) - min(y) (one value
 * per side, or all identical), or no sign change of W for the estimate.
 */
export function hodgesLehmannShift(x: TiedSample, y: TiedSample, confidence = 0.95): HodgesLehmannResult {
  const nan = { estimate: NaN, lower: NaN, upper: NaN, confidence };
  if (tiedSampleSize(x) === 0 || tiedSampleSize(y) === 0) return nan;
  const muMin = x.values[0] - y.values[y.values.length - 1];
  const muMax = x.values[x.values.length - 1] - y.values[0];
  if (!(muMin < muMax)) return nan;
  const alpha = 1 - confidence;
  const wCorrected = (d: number): number => standardizedRankSum(x, y, d, true);
  const wAtMin = wCorrected(muMin);
  const wAtMax = wCorrected(muMax);
  const root = (zq: number): number => {
    const fLower = wAtMin - zq;
    if (fLower <= 0) return muMin;
    const fUpper = wAtMax - zq;
    if (fUpper >= 0) return muMax;
    return brentRoot((d) => wCorrected(d) - zq, muMin, muMax, fLower, fUpper, ROOT_TOLERANCE);
  };
  const lower = root(-normalQuantile(alpha / 2));
  const upper = root(normalQuantile(alpha / 2));
  const w = (d: number): number => standardizedRankSum(x, y, d, false);
  const fa = w(muMin);
  const fb = w(muMax);
  const estimate = fa * fb > 0 ? NaN : brentRoot(w, muMin, muMax, fa, fb, ROOT_TOLERANCE);
  return { estimate, lower, upper, confidence };
}
