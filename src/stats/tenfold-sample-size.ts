// How many canary samples the sequential tests need before they can fail even a tenfold regression. A
// sequential test pays for being valid at every look with a boundary that starts wide, so it cannot decide
// on a handful of aggregated points, the 5-10 per-interval values Kayenta compares with a fixed-horizon
// Mann-Whitney test. The reasons quote this number when the arms hold fewer samples (result-reasons.ts), and
// the detection benchmark prints it for the default metrics.
//
// Each case is the most favourable data for a tenfold regression, run through the same functions the
// decisions use, at the metric's decision level alpha, with the stage hedge (stage-stitching.ts):
// - latency quantile: every canary latency 10x every baseline latency (complete separation);
// - latency mean: means 10x apart, each arm's standard deviation equal to its mean, variance known;
// - error rate: baseline 1% and canary 10% errors, exactly at their expected counts, independent requests.
// The baseline holds (1 - share) / share canary samples. The answer is at least the metric's minimum samples.
import type { AnalysisPolicy, MetricSpec } from './analysis-policy.js';
import { errorRateSequential } from './error-rate-confidence-sequence.js';
import { errorRatePrior } from './error-rate-evidence.js';
import { latencyMeanPrior } from './latency-mean-evidence.js';
import { meanRatioTest } from './latency-mean-test.js';
import { quantileCanaryAlphaShare, quantileConcentrations } from './latency-quantile-evidence.js';
import { minSamplesOf } from './metric-evidence.js';
import { quantileMixtureWeights } from './quantile-ratio-test.js';
import { twoSampleQuantileLogEvidence } from './quantile-two-sample.js';
import type { RankedBuckets } from './ranked-buckets.js';
import { hedgedLogFactor } from './stage-stitching.js';

const cache = new Map<string, number>();
const MAX_SAMPLES = 1e8;

function pointMass(n: number, atNanos: number): RankedBuckets {
  const edges = { edges: [atNanos], cumulative: [n] };
  return { n, lower: { ...edges, edges: [atNanos * 0.999] }, upper: edges };
}

/** log of the stitched e-value of a one-stage run with `canary` canary samples. */
function tenfoldLogEvidence(
  spec: MetricSpec,
  policy: AnalysisPolicy,
  alpha: number,
  share: number,
  canary: number,
): number {
  const baseline = Math.max(1, Math.round((canary * (1 - share)) / share));
  switch (spec.kind) {
    case 'latency_quantile': {
      const c = quantileConcentrations(share, policy, alpha);
      const weights = quantileMixtureWeights(quantileCanaryAlphaShare(share));
      const q = spec.quantile ?? 0.5;
      const limit = 1 + spec.tolerance;
      const g = twoSampleQuantileLogEvidence(
        pointMass(canary, 10e6),
        pointMass(baseline, 1e6),
        q,
        limit,
        c.canary,
        c.baseline,
        weights,
      );
      return hedgedLogFactor(g);
    }
    case 'latency_mean': {
      const arm = (n: number, mean: number) => ({ n, sumNanos: n * mean, varianceBound: mean * mean });
      const stage = { canary: arm(canary, 10e6), baseline: arm(baseline, 1e6) };
      return meanRatioTest([stage], stage, spec.tolerance, alpha, latencyMeanPrior(spec)).worseLogEvidence;
    }
    case 'error_rate': {
      const stage = {
        canaryErrors: 0.1 * canary,
        canaryRequests: canary,
        baselineErrors: 0.01 * baseline,
        baselineRequests: baseline,
        canaryDesignEffect: 1,
        baselineDesignEffect: 1,
      };
      return errorRateSequential([stage], stage, spec.tolerance, alpha, errorRatePrior(spec, policy))
        .worseLogEvidence;
    }
  }
}

/** Smallest canary sample count at which a tenfold regression fails (see above); Infinity past 1e8. */
export function tenfoldSampleSize(
  spec: MetricSpec,
  policy: AnalysisPolicy,
  alpha: number,
  share: number,
): number {
  const key = JSON.stringify([
    spec.kind,
    spec.quantile,
    spec.tolerance,
    spec.minSamples,
    policy,
    alpha,
    share,
  ]);
  const known = cache.get(key);
  if (known !== undefined) return known;
  const threshold = Math.log(1 / alpha);
  const decides = (n: number): boolean => tenfoldLogEvidence(spec, policy, alpha, share, n) >= threshold;
  let hi = 2;
  while (hi < MAX_SAMPLES && !decides(hi)) hi *= 2;
  let answer = Infinity;
  if (decides(hi)) {
    let lo = Math.floor(hi / 2);
    while (lo + 1 < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (decides(mid)) hi = mid;
      else lo = mid;
    }
    answer = Math.max(hi, minSamplesOf(spec, policy));
  }
  if (cache.size >= 256) cache.clear();
  cache.set(key, answer);
  return answer;
}
