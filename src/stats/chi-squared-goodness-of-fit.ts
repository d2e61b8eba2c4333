// Pearson's chi-squared goodness of fit, as scipy.stats.chisquare(f_obs, f_exp):
//   X^2 = sum (O_i - E_i)^2 / E_i with E_i = share_i * sum(O), df = k - 1, p = P(chi^2_df > X^2).
// Used for the traffic split (sample-ratio mismatch) with shares (1 - canaryShare, canaryShare).
import { chiSquaredSf } from './chi-squared-distribution.js';

export interface ChiSquaredResult {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

export function chiSquaredGoodnessOfFit(observed: number[], expectedShares: number[]): ChiSquaredResult {
  if (observed.length !== expectedShares.length || observed.length < 2) {
    throw new RangeError('observed and expectedShares need the same length, at least 2');
  }
  const total = observed.reduce((s, o) => s + o, 0);
  const shareSum = expectedShares.reduce((s, e) => s + e, 0);
  const degreesOfFreedom = observed.length - 1;
  if (total === 0) return { statistic: 0, degreesOfFreedom, pValue: 1 };
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = (expectedShares[i] / shareSum) * total;
    const diff = observed[i] - expected;
    statistic += (diff * diff) / expected;
  }
  return { statistic, degreesOfFreedom, pValue: chiSquaredSf(statistic, degreesOfFreedom) };
}
