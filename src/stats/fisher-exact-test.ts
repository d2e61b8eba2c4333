// Fisher's exact test on the 2x2 table [[a, b], [c, d]], two-sided as scipy.stats.fisher_exact does it
// (SciPy 1.17, stats/_stats_py.py): the p-value sums the hypergeometric probabilities of every table with
// the same margins that is at most as likely as the observed one (relative slack 1e-7 for rounding; SciPy
// uses 1e-14 and a binary search, R's fisher.test 1e-7; both only matter for exact ties, which both count).
// Probabilities are built as ratios from the mode (P(k+1)/P(k) = (K-k)(n-k) / ((k+1)(N-K-n+k+1))) and
// normalised by their sum, so no log-gamma rounding enters and huge tables stay accurate.

export interface FisherExactTestResult {
  /** Sample odds ratio ad/bc (SciPy's `statistic`); Infinity when bc = 0, NaN for a degenerate table. */
  oddsRatio: number;
  pValue: number;
}

const RELATIVE_SLACK = 1 + 1e-7;

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
  const relative = new Float64Array(kMax - kMin + 1);
  relative[mode - kMin] = 1;
  for (let k = mode; k < kMax; k++) {
    relative[k + 1 - kMin] = (relative[k - kMin] * ((K - k) * (n - k))) / ((k + 1) * (total - K - n + k + 1));
  }
  for (let k = mode; k > kMin; k--) {
    relative[k - 1 - kMin] = (relative[k - kMin] * (k * (total - K - n + k))) / ((K - k + 1) * (n - k + 1));
  }
  const observed = relative[a - kMin];
  let sum = 0;
  let tail = 0;
  for (let i = 0; i < relative.length; i++) sum += relative[i];
  for (let i = 0; i < relative.length; i++) if (relative[i] <= observed * RELATIVE_SLACK) tail += relative[i];
  return { oddsRatio, pValue: Math.min(1, tail / sum) };
}
