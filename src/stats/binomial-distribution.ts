// Binomial CDF and quantile for the order-statistic intervals. Terms are built as ratios from the mode
// (P(k+1)/P(k) = (n-k)p / ((k+1)(1-p))) and summed until they fall below 1e-20 of the mode's, so the cost is
// O(sqrt(n)) and no log-gamma rounding enters; normalising by the sum makes the CDF accurate to ~1e-15.

interface Terms {
  start: number;
  relative: number[];
  total: number;
}

const CUTOFF = 1e-20;

function terms(n: number, p: number): Terms {
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const up: number[] = [];
  const down: number[] = [];
  let t = 1;
  for (let k = mode; k < n; k++) {
    t *= ((n - k) * p) / ((k + 1) * (1 - p));
    if (t < CUTOFF) break;
    up.push(t);
  }
  t = 1;
  for (let k = mode; k > 0; k--) {
    t *= (k * (1 - p)) / ((n - k + 1) * p);
    if (t < CUTOFF) break;
    down.push(t);
  }
  const relative = [...down.reverse(), 1, ...up];
  return { start: mode - down.length, relative, total: relative.reduce((s, v) => s + v, 0) };
}

/** P(B <= k) for B ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n || p === 0) return 1;
  if (p === 1) return 0;
  const { start, relative, total } = terms(n, p);
  let s = 0;
  for (let i = 0; i < relative.length && start + i <= k; i++) s += relative[i];
  return s / total;
}

/** Smallest k with P(B <= k) >= q (scipy.stats.binom.ppf, R's qbinom). */
export function binomialQuantile(q: number, n: number, p: number): number {
  return binomialQuantiles([q], n, p)[0];
}

/** binomialQuantile for several levels, building the terms once. */
export function binomialQuantiles(qs: number[], n: number, p: number): number[] {
  if (p === 0) return qs.map(() => 0);
  if (p === 1) return qs.map((q) => (q <= 0 ? 0 : n));
  const { start, relative, total } = terms(n, p);
  return qs.map((q) => {
    if (q <= 0) return 0;
    let s = 0;
    for (let i = 0; i < relative.length; i++) {
      s += relative[i];
      // Relative slack as in R's qbinom (fuzz 1 - 64 eps) so that an exact hit is not missed by rounding.
      if (s / total >= q * (1 - 64 * 2.220446049250313e-16)) return start + i;
    }
    return n;
  });
}
