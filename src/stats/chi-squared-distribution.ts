// Upper tail of the chi-squared distribution: P(X > x) = Q(df/2, x/2), the regularized upper incomplete
// gamma function, by the series for P (x < a + 1) or Lentz's continued fraction for Q (Numerical Recipes,
// 3rd ed., 6.2). df = 1 uses the exact identity Q(1/2, x/2) = 2 * P(Z > sqrt(x)) for full tail accuracy.
import { logGamma } from './log-gamma.js';
import { normalSf } from './normal-distribution.js';

const EPS = 1e-16;
const TINY = 1e-300;

export function chiSquaredSf(x: number, df: number): number {
  if (!(x > 0)) return 1;
  if (x === Infinity) return 0;
  if (df === 1) return 2 * normalSf(Math.sqrt(x));
  if (df === 2) return Math.exp(-x / 2);
  return regularizedUpperGamma(df / 2, x / 2);
}

export function regularizedUpperGamma(a: number, x: number): number {
  const logPrefactor = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(logPrefactor);
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(logPrefactor) * h;
}
