// The lower bound on a latency quantile's ratio, canary over baseline, that the fail decision itself implies:
// the largest limit L that the stitched two-sample test (quantile-two-sample.ts, stage-stitching.ts) rejects,
// H0: Q_c <= L Q_b, at the level asked. The test's evidence falls as L grows (the rejected limits form an
// interval), so the bound is found by bisection on log L. It is the inversion of the test that decides fail,
// so it clears the tolerance exactly when that test rejects 1 + tolerance at the same level: the bound shown
// beside a fail is the evidence that decided it (issue 15), never the per-arm bounds of another test.
//
// `anchor` (1 + tolerance) is evaluated first and kept as a bracket end, so the returned bound is at or above
// it exactly when the test rejects it: bisection error can never put the bound on the wrong side of the line.

/**
 * Relative precision of the bound, reached from below (the bound is never above the exact one, so it stays
 * valid): a bound on a ratio of bucketed quantiles moves in steps of about the buckets' width (1% at the
 * accumulator's scale), and it is computed every tick for every quantile metric, so finer bisection would
 * only cost time. The anchor keeps it on the right side of the tolerance whatever the precision.
 */
export const PRECISION = 5e-3;
/** The search gives up beyond these ratios: 0 (no bound) below, Infinity above. */
const SMALLEST = 1e-6;
const LARGEST = 1e6;

/**
 * Largest L with logEvidenceAt(L) >= logThreshold (to PRECISION, never above it), for logEvidenceAt
 * nonincreasing in L; 0 exactly when SMALLEST is not rejected, Infinity exactly when LARGEST is (both are
 * tested before either is returned, so a warm and a cold search agree on them). `hints` are guesses
 * that narrow the first bracket (the per-arm lower bound, the estimate); any may be wrong or non-finite.
 * `previous` is this bound as the last tick found it (a warm start): when it lies on the anchor's side, the
 * search steps away from it by 1 + PRECISION, then by that step squared, until it brackets the bound, and
 * the hints are not tried. On the evidence that gave `previous` that is three evaluations (the anchor,
 * `previous` and `previous` * (1 + PRECISION)) and it returns `previous` itself, so evaluating unchanged
 * evidence again with its own result carried is a fixpoint (run-judgement.ts reuses evaluations on that).
 * A wrong `previous` costs evaluations, never validity: every bound returned was itself rejected. The
 * fixpoint needs the evidence to be exactly nonincreasing in L (logInfimum is exact, not approximated): a
 * limit above one found not rejected must never be rejected.
 */
export function largestRejectedRatio(
  logEvidenceAt: (limit: number) => number,
  logThreshold: number,
  anchor: number,
  hints: readonly number[] = [],
  previous?: number,
): number {
  const rejects = (limit: number): boolean => logEvidenceAt(limit) >= logThreshold;
  const anchorRejected = rejects(anchor);
  let low: number; // rejected
  let high: number; // not rejected
  if (
    previous !== undefined &&
    Number.isFinite(previous) &&
    previous > SMALLEST &&
    previous < LARGEST &&
    previous >= anchor === anchorRejected
  ) {
    low = anchorRejected ? anchor : 0;
    high = anchorRejected ? Infinity : anchor;
    if (previous !== anchor) {
      if (rejects(previous)) low = previous;
      else high = previous;
    }
    let step = 1 + PRECISION;
    if (low === previous) {
      // Moved up or not at all. `low * (1 + PRECISION)` is the bisection's own stopping point below, so the
      // first step lands exactly where the tick that found `previous` stopped.
      for (;;) {
        const next = low * step;
        if (next >= high) break;
        if (next >= LARGEST) {
          if (rejects(LARGEST)) return Infinity;
          high = LARGEST;
          break;
        }
        if (!rejects(next)) {
          high = next;
          break;
        }
        low = next;
        step *= step;
      }
    } else {
      // Moved down.
      for (;;) {
        const next = high / step;
        if (next <= low) break;
        if (next <= SMALLEST) {
          if (!rejects(SMALLEST)) return 0;
          low = SMALLEST;
          break;
        }
        if (rejects(next)) {
          low = next;
          break;
        }
        high = next;
        step *= step;
      }
    }
  } else if (anchorRejected) {
    const usable = usableHints(hints);
    low = anchor;
    high = NaN;
    for (const h of usable.filter((x) => x > anchor).sort((a, b) => a - b)) {
      if (rejects(h)) low = h;
      else {
        high = h;
        break;
      }
    }
    if (Number.isNaN(high)) {
      high = low * 2;
      for (;;) {
        if (high >= LARGEST) {
          if (rejects(LARGEST)) return Infinity;
          high = LARGEST;
          break;
        }
        if (!rejects(high)) break;
        low = high;
        high *= 4;
      }
    }
  } else {
    const usable = usableHints(hints);
    high = anchor;
    low = NaN;
    for (const h of usable.filter((x) => x < anchor).sort((a, b) => b - a)) {
      if (rejects(h)) {
        low = h;
        break;
      }
      high = h;
    }
    if (Number.isNaN(low)) {
      low = high / 2;
      for (;;) {
        if (low <= SMALLEST) {
          if (!rejects(SMALLEST)) return 0;
          low = SMALLEST;
          break;
        }
        if (rejects(low)) break;
        high = low;
        low /= 4;
      }
    }
  }
  // Written as a product, not high / low, so that a warm start's first step (above) meets it exactly.
  while (high > low * (1 + PRECISION)) {
    const mid = Math.sqrt(low * high);
    if (rejects(mid)) low = mid;
    else high = mid;
  }
  return low;
}

/** The hints that can narrow a bracket: finite and inside the search's range. */
function usableHints(hints: readonly number[]): number[] {
  return hints.filter((h) => Number.isFinite(h) && h > SMALLEST && h < LARGEST);
}
