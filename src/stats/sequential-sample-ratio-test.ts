// Sequential sample-ratio-mismatch test (Lindon & Malek, "Anytime-valid inference for multinomial count
// data", NeurIPS 2022): with a Dirichlet(k * shares) prior on the arm probabilities, the Bayes factor of the
// Dirichlet-multinomial against the multinomial with the expected shares,
//   BF_n = [Gamma(sum a) / Gamma(sum a + n)] * prod Gamma(a_i + n_i) / Gamma(a_i) / prod share_i^(n_i),
// is a nonnegative martingale under H0, so p_n = min(1, 1/BF_n) is an always-valid p-value (the judge keeps
// its running minimum). It depends only on the counts, not on when they were looked at.
import { logGamma } from './log-gamma.js';

/** Prior concentration k: the prior sd of a share s is sqrt(s(1-s)/(k+1)), about 1% at s = 0.1. */
export const DEFAULT_SRM_CONCENTRATION = 1000;

export function sequentialSampleRatioPValue(
  counts: number[],
  expectedShares: number[],
  concentration = DEFAULT_SRM_CONCENTRATION,
): number {
  return Math.min(1, Math.exp(-sequentialSampleRatioLogBayesFactor(counts, expectedShares, concentration)));
}

/** log BF_n (the raw e-value's log, for stitching stages: stage-stitching.ts). */
export function sequentialSampleRatioLogBayesFactor(
  counts: number[],
  expectedShares: number[],
  concentration = DEFAULT_SRM_CONCENTRATION,
): number {
  const shareSum = expectedShares.reduce((s, v) => s + v, 0);
  const shares = expectedShares.map((s) => s / shareSum);
  const prior = shares.map((s) => concentration * s);
  const n = counts.reduce((s, v) => s + v, 0);
  if (n === 0) return 0;
  let logBf = logGamma(concentration) - logGamma(concentration + n);
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0)
      logBf += logGamma(prior[i] + counts[i]) - logGamma(prior[i]) - counts[i] * Math.log(shares[i]);
  }
  return logBf;
}
