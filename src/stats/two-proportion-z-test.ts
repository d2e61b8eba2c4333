// Two-proportion z-test, pooled under H0: p1 = p2 (Agresti, Categorical Data Analysis, 3rd ed., 2.1.3):
//   z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p = (x1 + x2) / (n1 + n2);
// its two-sided p-value equals R's prop.test(c(x1, x2), c(n1, n2), correct = FALSE)$p.value (chi^2 = z^2).
// The interval is the unpooled Wald interval R's prop.test reports without continuity correction:
//   (p1 - p2) -/+ z_{1-alpha/2} sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2).
import { normalQuantile, normalSf } from './normal-distribution.js';

export interface TwoProportionZTestResult {
  difference: number;
  z: number;
  pValue: number;
  lower: number;
  upper: number;
}

/**
 * Stated rule for a degenerate pooled rate (no errors at all, or all errors): no evidence of a difference,
 * z = 0 and p = 1 (R returns NaN). Empty arms give NaN.
 */
export function twoProportionZTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence = 0.95,
): TwoProportionZTestResult {
  if (n1 <= 0 || n2 <= 0) return { difference: NaN, z: NaN, pValue: NaN, lower: NaN, upper: NaN };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const z = se0 > 0 ? (p1 - p2) / se0 : 0;
  const pValue = se0 > 0 ? Math.min(1, 2 * normalSf(Math.abs(z))) : 1;
  const half = -normalQuantile((1 - confidence) / 2) * Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const difference = p1 - p2;
  return {
    difference,
    z,
    pValue,
    lower: Math.max(-1, difference - half),
    upper: Math.min(1, difference + half),
  };
}
