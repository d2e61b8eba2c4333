// Regularized incomplete beta function I_x(a, b) = P(Beta(a, b) <= x), by the continued fraction of
// DiDonato & Morris (Numerical Recipes, 3rd ed., section 6.4) evaluated with the modified Lentz method, on
// the side of the mean where it converges fast (x < (a + 1) / (a + b + 2), else 1 - I_{1-x}(b, a)). Used
// once per (quantile, prior) for the prior mass of the one-sided beta-binomial mixtures, so O(sqrt(a + b))
// iterations are affordable.
import { logBeta } from './log-gamma.js';

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;

function continuedFraction(x: number, a: number, b: number): number {
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    // Even step.
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return h;
  }
  throw new RangeError(`incomplete beta did not converge for a=${a}, b=${b}, x=${x}`);
}

/** I_x(a, b) for a, b > 0 and 0 <= x <= 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError('incomplete beta needs a > 0 and b > 0');
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * continuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * continuedFraction(1 - x, b, a)) / b;
}
