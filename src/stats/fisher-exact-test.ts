// Fisher's exact test on the 2x2 table [[a, b], [c, d]], two-sided as scipy.stats.fisher_exact does it
// (SciPy 1.17, stats/_stats_py.py): the p-value sums the hypergeometric probabilities of every table with
// the same margins that is at most as likely as the observed one (relative slack 1e-7 for rounding; SciPy
// uses 1e-14 and a binary search, R's fisher.test 1e-7; both only matter for exact ties, which both count).
// Probabilities are built as ratios from the mode (P(k+1)/P(k) = (K-k)(n-k) / ((k+1)(N-K-n+k+1))) and
// normalised by their sum, so no log-gamma rounding enters and huge tables stay accurate.
import { normalSf } from './normal-distribution.js';

export interface FisherExactTestResult {
  /** Sample odds ratio ad/bc (SciPy's `statistic`); Infinity when bc = 0, NaN for a degenerate table. */
  oddsRatio: number;
  pValue: number;
}

const RELATIVE_SLACK = 1 + 1e-7;
/** Terms below this fraction of the mode's are left out: together they move the p-value by < 1e-280. */
const CUTOFF = 1e-300;
/**
 * Steps walked from the mode on each side. The hypergeometric is log-concave, so terms above CUTOFF lie
 * within about 37 standard deviations of the mode: this covers every table with sd < 27 000, far beyond
 * where the caller uses this test (an expected cell count below 5 means sd below 2.3). A table past it
 * gets the normal approximation (Pearson's chi-squared with one degree of freedom) instead.
 */
const MAX_STEPS_PER_SIDE = 1_000_000;

export function fisherExactTest(a: number, b: number, c: number, d: number): FisherExactTestResult {
  const rows = [a + b, c + d];
  const cols = [a + c, b + d];
  if (rows.includes(0) || cols.includes(0)) return { oddsRatio: NaN, pValue: 1 };
  const oddsRatio = c > 0 && b > 0 ? (a * d) / (c * b) : Infinity;
  // X = top-left cell ~ Hypergeometric(N, K = row 1 total, n = column 1 total).
  const total = a + b + c + d;
  const K = rows[0];
  const n = cols[0];
  const kMin = Math.max(0, n - (total - K));
  const kMax = Math.min(K, n);
  const mode = Math.floor(((n + 1) * (K + 1)) / (total + 2));
  const variance = (((n * K) / total) * (total - K) * (total - n)) / (total * (total - 1));
  if (Math.sqrt(variance) > MAX_STEPS_PER_SIDE / 40)
    return { oddsRatio, pValue: chiSquaredPValue(a, b, c, d) };
  // Relative probabilities from the mode outwards, each walk stopping below CUTOFF (memory and time
  // O(steps), never O(table size), so counts up to 2^53 cost nothing more).
  const up: number[] = [];
  const down: number[] = [];
  let t = 1;
  for (let k = mode; k < kMax && up.length < MAX_STEPS_PER_SIDE; k++) {
    t = (t * ((K - k) * (n - k))) / ((k + 1) * (total - K - n + k + 1));
    if (!(t >= CUTOFF)) break;
    up.push(t);
  }
  const upCapped = up.length === MAX_STEPS_PER_SIDE;
  t = 1;
  for (let k = mode; k > kMin && down.length < MAX_STEPS_PER_SIDE; k--) {
    t = (t * (k * (total - K - n + k))) / ((K - k + 1) * (n - k + 1));
    if (!(t >= CUTOFF)) break;
    down.push(t);
  }
  if (upCapped || down.length === MAX_STEPS_PER_SIDE)
    return { oddsRatio, pValue: chiSquaredPValue(a, b, c, d) };
  const relativeAt = (k: number): number => {
    if (k === mode) return 1;
    const offset = k > mode ? k - mode - 1 : mode - k - 1;
    return (k > mode ? up[offset] : down[offset]) ?? 0;
  };
  const observed = relativeAt(a);
  let sum = 1;
  let tail = 1 <= observed * RELATIVE_SLACK ? 1 : 0;
  for (const side of [up, down]) {
    for (const term of side) {
      sum += term;
      if (term <= observed * RELATIVE_SLACK) tail += term;
    }
  }
  return { oddsRatio, pValue: Math.min(1, tail / sum) };
}

/** Pearson's chi-squared test of independence on the 2x2 table, without continuity correction. */
function chiSquaredPValue(a: number, b: number, c: number, d: number): number {
  const n = a + b + c + d;
  const numerator = (a * d - b * c) / n;
  const statistic = (numerator * numerator * n) / (((a + b) / n) * (c + d) * ((a + c) / n) * (b + d));
  return Math.min(1, 2 * normalSf(Math.sqrt(statistic)));
}
