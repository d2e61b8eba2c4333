// Binomial CDF and quantile for the order-statistic intervals. Terms are built as ratios from the mode
// (P(k+1)/P(k) = (n-k)p / ((k+1)(1-p))) and summed until they fall below 1e-20 of the mode's, so the cost is
// O(sqrt(n)) and no log-gamma rounding enters; normalising by the sum makes the CDF accurate to ~1e-15.
//
// Bound. Terms above 1e-20 of the mode lie within about 9.6 standard deviations of it, so each walk is
// capped at MAX_TERMS_PER_SIDE steps (more than 9.6 sd whenever sd <= EXACT_MAX_SD). Beyond EXACT_MAX_SD
// (n p (1 - p) > 1e8, only reachable with more than 4e8 samples) the terms are not built at all: the
// quantile is the normal approximation with Cornish-Fisher skewness correction, whose CDF error is
// O(1/variance) <= 1e-8, and it is moved one count away from the median, which moves the CDF by about
// 1/(sd sqrt(2 pi)) >= 4e-5 in the conservative direction, so intervals built from it keep their coverage.
// Memory and time are O(1) there; O(EXACT_MAX_SD) at most below. Counts up to 2^53 are supported.
import { normalCdf, normalQuantile } from './normal-distribution.js';

interface Terms {
  start: number;
  relative: number[];
  total: number;
}

const CUTOFF = 1e-20;
/** Largest standard deviation for which the terms are summed exactly (see the file comment). */
const EXACT_MAX_SD = 1e4;
const MAX_TERMS_PER_SIDE = 12 * EXACT_MAX_SD;

function standardDeviation(n: number, p: number): number {
  return Math.sqrt(n * p * (1 - p));
}

function terms(n: number, p: number): Terms {
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const up: number[] = [];
  const down: number[] = [];
  let t = 1;
  for (let k = mode; k < n && up.length < MAX_TERMS_PER_SIDE; k++) {
    t *= ((n - k) * p) / ((k + 1) * (1 - p));
    if (!(t >= CUTOFF)) break;
    up.push(t);
  }
  t = 1;
  for (let k = mode; k > 0 && down.length < MAX_TERMS_PER_SIDE; k--) {
    t *= (k * (1 - p)) / ((n - k + 1) * p);
    if (!(t >= CUTOFF)) break;
    down.push(t);
  }
  const relative = [...down.reverse(), 1, ...up];
  return { start: mode - down.length, relative, total: relative.reduce((s, v) => s + v, 0) };
}

/** Cornish-Fisher: x with P(B <= x) ~= q, skewness (1 - 2p) / sd, continuity-corrected. */
function approximateQuantile(q: number, n: number, p: number): number {
  const sd = standardDeviation(n, p);
  const z = normalQuantile(q);
  const skew = (1 - 2 * p) / sd;
  return n * p + sd * (z + ((z * z - 1) * skew) / 6) - 0.5;
}

/** P(B <= k) for B ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n || p === 0) return 1;
  if (p === 1) return 0;
  const sd = standardDeviation(n, p);
  if (sd > EXACT_MAX_SD) {
    // Normal approximation with continuity and skewness (Edgeworth) correction; error O(1/variance).
    const x = (Math.floor(k) + 0.5 - n * p) / sd;
    const skew = (1 - 2 * p) / sd;
    const density = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    return Math.min(1, Math.max(0, normalCdf(x) - (skew / 6) * (x * x - 1) * density));
  }
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
  if (standardDeviation(n, p) > EXACT_MAX_SD) {
    return qs.map((q) => {
      if (q <= 0) return 0;
      if (q >= 1) return n;
      // One count away from the median, towards the tail asked for (see the file comment).
      const k = Math.ceil(approximateQuantile(q, n, p)) + (q < 0.5 ? -1 : 1);
      return Math.min(n, Math.max(0, k));
    });
  }
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
