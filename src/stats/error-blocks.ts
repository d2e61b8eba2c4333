// Error counts in blocks: the variance of an error rate when errors are not independent request by request.
//
// Errors arrive in bursts (a pod restart, a retry storm, a dependency hiccup): twenty errors in a second, then
// none for a minute. The binomial variance p(1 - p)/n assumes independent requests and then understates the
// noise of an error rate by the burst size; with bursts of 20 inside one arm the request-level test failed 62%
// of A/A runs at tolerance 0. Blocks fix that: each evaluation (tick) closes one block per arm, the requests
// and errors that arrived since the previous one, and the rate's variance is estimated from the spread of the
// block error counts around the arm's rate (the cluster-robust, or linearisation, variance of a ratio
// estimator; Cochran, Sampling Techniques, 3rd ed., 6.11; Cameron & Miller, "A practitioner's guide to
// cluster-robust inference", J. Human Resources 2015):
//   Var(p) ~ sum_k (e_k - p n_k)^2 / N^2,
// expressed as a design effect over the binomial variance, DE = sum_k (e_k - p n_k)^2 / (N p (1 - p)) times the
// small-sample factor K / (K - 1), floored at 1 so independent requests keep the binomial variance (the tests
// multiply their null variance by it, error-rate-confidence-sequence.ts). The sums are all a block needs, so
// the carried state is six numbers per arm and stage whatever the traffic.
//
// Remaining assumption: errors in different blocks are independent (a burst lasts less than a tick and its
// errors fall in one or two blocks) and the error rate is constant within a stage. A burst that spans many
// ticks, or a rate that drifts within a stage, is still under-counted. Blocks follow the judge's evaluation
// schedule, which does not depend on the data, so using them keeps the tests' guarantees.
import type { ErrorBlockState } from './analysis-policy.js';

/** Blocks an arm needs before its design effect is trusted (and its stage's error evidence counts). */
export const MIN_ERROR_BLOCKS = 10;

export function emptyErrorBlocks(): ErrorBlockState {
  return {
    requests: 0,
    errors: 0,
    blocks: 0,
    sumRequestsSquared: 0,
    sumErrorsSquared: 0,
    sumRequestsErrors: 0,
  };
}

/**
 * The state after the arm's cumulative counts reached (requests, errors): the increase since the last
 * evaluation is one block (none when nothing arrived). Counts that went down (the stage was reset) start over.
 */
export function closeBlock(before: ErrorBlockState, requests: number, errors: number): ErrorBlockState {
  const base = requests < before.requests || errors < before.errors ? emptyErrorBlocks() : before;
  const n = requests - base.requests;
  const e = errors - base.errors;
  if (n <= 0 && e <= 0) return base;
  return {
    requests,
    errors,
    blocks: base.blocks + 1,
    sumRequestsSquared: base.sumRequestsSquared + n * n,
    sumErrorsSquared: base.sumErrorsSquared + e * e,
    sumRequestsErrors: base.sumRequestsErrors + n * e,
  };
}

/** Design effect of the arm's error rate (>= 1; 1 while fewer than two blocks or no errors). */
export function designEffect(b: ErrorBlockState): number {
  if (b.blocks < 2 || b.requests <= 0) return 1;
  const p = b.errors / b.requests;
  if (p <= 0 || p >= 1) return 1;
  const spread = b.sumErrorsSquared - 2 * p * b.sumRequestsErrors + p * p * b.sumRequestsSquared;
  const binomial = b.requests * p * (1 - p);
  return Math.max(1, ((spread / binomial) * b.blocks) / (b.blocks - 1));
}
