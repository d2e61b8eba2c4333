// Family-wise fail decisions across an analysis's metrics from their e-values (Vovk & Wang, "E-values:
// calibration, combination and applications", Ann. Stat. 2021, sections 3 and 5).
//
// The analysis fails when the mean of the metrics' e-values reaches 1/alpha at any look. Under the global null
// (every metric within its tolerance) each metric's e-process has conditional mean <= 1, so their mean is an
// e-process too, and by Ville's inequality the analysis fails a canary that is fine on every metric with
// probability <= alpha, however often it is evaluated. This is never slower than Bonferroni or Holm's first
// step (the mean is at least E_j / m for every j, so it crosses 1/alpha whenever one E_j crosses m/alpha),
// and faster when several metrics move together (a tail regression raises p95 and p99, a slower canary every
// quantile): two metrics at E each cross at E = m/(2 alpha) instead of m/alpha.
//
// Which metrics failed: closed testing with the mean as the local test (the e-closure; Vovk & Wang 2021,
// section 5, and "True and false discoveries with e-values", Vovk & Wang 2023): metric i is failed when
// every subset S containing it has mean e-value >= 1/alpha. The weakest such S adds the smallest other
// e-values one by one, so the check is a sort. It controls the family-wise error strongly: a metric that is
// within tolerance is named only with probability <= alpha. When the mean crosses but no single metric
// survives the closure, the analysis fails on their joint evidence and the reason lists the contributors.

/** e-values are capped here so that a mean never overflows (e^600 is beyond any threshold in use). */
const LOG_CAP = 600;

/** log of the mean of exp(logEvidence) (0 for an empty family). */
export function familyLogEvidence(logEvidence: readonly number[]): number {
  if (logEvidence.length === 0) return 0;
  const capped = logEvidence.map((l) => Math.min(LOG_CAP, l));
  const max = Math.max(...capped);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const l of capped) sum += Math.exp(l - max);
  return max + Math.log(sum / capped.length);
}

/**
 * The e-values other than the i-th, ascending. An analysis has a handful of metrics, and this runs twice per
 * metric on every evaluation: an insertion sort over a fresh array, where Array.prototype.sort with a
 * comparator boxed every double into its work array (~3% of a judge tick's garbage at 1 000 runs, issue 13). Without NaN the
 * ascending order of numbers is unique up to the order of 0 and -0, which no sum below can tell apart; with a
 * NaN (the comparator then answers NaN) the original sort is kept, whatever order it gives.
 */
function othersAscending(e: readonly number[], i: number): number[] {
  const others: number[] = [];
  let nan = false;
  for (let j = 0; j < e.length; j++) {
    if (j === i) continue;
    const x = e[j];
    if (Number.isNaN(x)) nan = true;
    let k = others.length;
    others.push(x);
    while (k > 0 && others[k - 1] > x) {
      others[k] = others[k - 1];
      k--;
    }
    others[k] = x;
  }
  return nan ? e.filter((_, j) => j !== i).sort((a, b) => a - b) : others;
}

/** The e-closure's rejections at level alpha (see above), in input order. */
export function closedFamilyRejections(logEvidence: readonly number[], alpha: number): boolean[] {
  const e = logEvidence.map((l) => Math.exp(Math.min(LOG_CAP, l)));
  const threshold = 1 / alpha;
  return e.map((own, i) => {
    const others = othersAscending(e, i);
    let sum = own;
    if (sum < threshold) return false;
    for (let k = 0; k < others.length; k++) {
      sum += others[k];
      if (sum / (k + 2) < threshold) return false;
    }
    return true;
  });
}

/**
 * log of the e-value each metric needs, given the others' e-values, for the e-closure to name it at level
 * alpha: metric i is rejected exactly when E_i >= max_k ((k + 1) / alpha - (sum of the k smallest other
 * e-values)), k = 0 .. m - 1 (the check in closedFamilyRejections, solved for E_i). The value lies between
 * 1/alpha (the others carry all the evidence needed) and m/alpha (they carry none: Bonferroni). A metric's
 * fail bound is reported at level 1 - exp(-threshold), so the bound clears the tolerance exactly when the
 * closure names the metric (evaluate-analysis.ts).
 */
export function closureLogThresholds(logEvidence: readonly number[], alpha: number): number[] {
  const e = logEvidence.map((l) => Math.exp(Math.min(LOG_CAP, l)));
  const threshold = 1 / alpha;
  return e.map((_, i) => {
    const others = othersAscending(e, i);
    let needed = threshold;
    let sum = 0;
    for (let k = 0; k < others.length; k++) {
      sum += others[k];
      needed = Math.max(needed, (k + 2) * threshold - sum);
    }
    return Math.log(needed);
  });
}
