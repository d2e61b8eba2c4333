// Monte-Carlo error of a simulated rate: exact (Clopper-Pearson) one-sided upper bound, and the largest
// count still consistent with a true rate of alpha, both from the binomial CDF.
import { binomialCdf, binomialQuantile } from '../../src/stats/binomial-distribution.js';

/** Upper confidence bound (one-sided, `confidence`) on a rate observed as k of n, by bisection. */
export function clopperPearsonUpper(k: number, n: number, confidence = 0.99): number {
  if (k >= n) return 1;
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > 1 - confidence) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Largest count of n runs that a true rate of alpha produces with probability >= 1 - tail. */
export function allowedFailures(n: number, alpha: number, tail = 0.001): number {
  return binomialQuantile(1 - tail, n, alpha);
}
