// Two-sample anytime-valid test that one arm's quantile exceeds `limit` times another's, sharper than
// intersecting two per-arm confidence sequences (quantile-ratio-test.ts explains where it is used).
//
// H0: Q_A(q) <= limit * Q_B(q). Write y* = Q_B(q). Under H0, theta_A = P(X_A <= limit y*) >= q and
// theta_B = P(X_B < y*) <= q. Let E_A(y) be A's lower-side one-sided beta-binomial mixture (mixing over
// p < q) at the count #{X_A <= limit y}, and E_B(y) B's upper-side mixture (p > q) at #{X_B < y}
// (quantile-confidence-sequence.ts). At y = y* each is a nonnegative supermartingale with initial value 1
// under H0 (each likelihood ratio (p/q)^k ((1-p)/(1-q))^(t-k) with p < q has one-step mean
// theta_A p/q + (1 - theta_A)(1-p)/(1-q) <= 1 when theta_A >= q, and the mixture argument of Howard & Ramdas
// 2022, Theorem 1, carries over; likewise for B with p > q and theta_B <= q), and since the arms are independent and each arrival moves one factor, so is
// their product (test martingales multiply: Shafer, Shen, Vereshchagin & Vovk, Stat. Sci. 2011; Ramdas,
// Grunwald, Vovk & Shafer, "Game-theoretic statistics and safe anytime-valid inference", Stat. Sci. 2023). A fixed convex combination
//   G(y) = lambdaA E_A(y) + lambdaB E_B(y) + lambdaAB E_A(y) E_B(y)
// is then a nonnegative supermartingale at y = y* with G_0 = 1, and by Ville's inequality
// P(exists t: G_t(y*) >= 1/alpha) <= alpha. y* is unknown, so the test rejects when inf_y G_t(y) >= 1/alpha
// (the infimum over the nuisance parameter), with always-valid p-value min(1, 1 / inf_y G_t(y)).
//
// Why it is sharper: intersecting the per-arm sequences needs, for every y, one arm alone past its share of
// alpha (E_A >= 1/(f alpha) or E_B >= 1/((1 - f) alpha)), hardest where the two arms' evidence cross. With
// lambdaAB = 1/2 the product term needs only E_A E_B >= 2/alpha there, about the square root from each arm;
// far from the crossing one arm alone suffices at 1/(lambda alpha). The baseline, with 9x the samples at a 10% canary, then costs the canary little.
//
// On histograms (and for any ties) the counts are bounded conservatively (#{X_A <= limit y} from above,
// #{X_B < y} from below; see twoSampleQuantilePValue), and E_A is nonincreasing and E_B nondecreasing in
// their counts, so the computed G(y*) is at most the true one. Each E is the lower bound (M - (1 - w)) / w
// of its one-sided mixture (quantile-confidence-sequence.ts), taken as 0 off its side and wherever M <= 1:
// log M is convex in the count with M <= 1 between its minimum and t q, so this keeps E monotone.
//
// Cost: G is constant between bucket edges. It is evaluated near where the arms' evidence cross (binary
// search), then exactly over the only y where it can be smaller: where lambdaA E_A and lambdaB E_B are both
// below that value (outside, G is at least one of them). Under H0 that set is usually empty.
import { logBetaBinomialMixture, priorMassBelow } from './quantile-confidence-sequence.js';
import type { EvaluationBuffers, MemoArrays } from './evaluation-buffers.js';
import type { Doubles, EdgeRanks, RankedBuckets } from './ranked-buckets.js';

/** Weights of E_A, E_B and E_A E_B in G; fixed in advance. */
export interface MixtureWeights {
  a: number;
  b: number;
  ab: number;
}

export const DEFAULT_MIXTURE_WEIGHTS: MixtureWeights = { a: 0.25, b: 0.25, ab: 0.5 };

/** Evidence above this is reported as this (min(E, c) is an e-process too; p-values stop at 1e-12). */
const LOG_CAP = Math.log(1e12);

function logAddExp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const m = Math.max(x, y);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
}

/**
 * log of the one-sided evidence lower bound for `count` values out of n at or below the quantile:
 * side 'lower' (too few below: (M - (1 - w)) / w for count < n q), 'upper' (too many: (M - w) / (1 - w)
 * for count > n q); -Infinity off its side or when M <= 1.
 */
function sideLogEvidence(
  count: number,
  n: number,
  q: number,
  concentration: number,
  below: number,
  side: 'lower' | 'upper',
): number {
  if (side === 'lower' ? !(count < n * q) : !(count > n * q)) return -Infinity;
  const logM = logBetaBinomialMixture(count, n, q, concentration);
  if (!(logM > 0)) return -Infinity;
  const weight = side === 'lower' ? below : 1 - below;
  const rest = 1 - (1 - weight) * Math.exp(-logM);
  return rest > 0 ? logM + Math.log(rest) - Math.log(weight) : -Infinity;
}

/**
 * Evidence of one arm as a function of how many of its edges (in order) are counted; memoized. One object per
 * arm and evaluator, shared by every limit the fail bound's bisection asks (quantile-fail-bound.ts).
 */
class ArmEvidence {
  // Indexed by `included` (0 to the number of edges): an array, not a Map, since the searches ask it
  // hundreds of times per evaluation (the Map was a tenth of the judge's tick).
  private readonly memo: Float64Array;
  private readonly known: Uint8Array;
  private readonly below: number;

  constructor(
    private readonly r: EdgeRanks,
    private readonly n: number,
    private readonly q: number,
    private readonly concentration: number,
    private readonly side: 'lower' | 'upper',
    /** Reused arrays for the memo (evaluation-buffers.ts), else its own. */
    arrays?: MemoArrays,
  ) {
    this.below = priorMassBelow(q, concentration);
    this.memo = arrays?.values ?? new Float64Array(r.edges.length + 1);
    this.known = arrays?.known ?? new Uint8Array(r.edges.length + 1);
  }

  at(included: number): number {
    if (this.known[included] === 1) return this.memo[included];
    const count = included === 0 ? 0 : this.r.cumulative[included - 1];
    const v = sideLogEvidence(count, this.n, this.q, this.concentration, this.below, this.side);
    this.memo[included] = v;
    this.known[included] = 1;
    return v;
  }
}

/** Edge i over the limit, rounded down by `shrink` (A's positions, see logInfimum; B's are limit and shrink 1). */
function scaledEdge(edges: Doubles, i: number, limit: number, shrink: number): number {
  return (edges[i] / limit) * shrink;
}

/** Number of i with edges[i] / limit * shrink <= x, for nondecreasing edges (B's positions: limit and shrink 1, exact). */
function countScaledUpTo(edges: Doubles, limit: number, shrink: number, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (scaledEdge(edges, mid, limit, shrink) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Always-valid p-value for H0: Q_A(q) <= limit * Q_B(q), A's evidence on its lower side and B's on its
 * upper side (see above): min(1, 1 / inf_y G).
 */
export function twoSampleQuantilePValue(
  a: RankedBuckets,
  b: RankedBuckets,
  q: number,
  limit: number,
  concentrationA: number,
  concentrationB: number,
  weights: MixtureWeights = DEFAULT_MIXTURE_WEIGHTS,
): number {
  const logG = twoSampleQuantileLogEvidence(a, b, q, limit, concentrationA, concentrationB, weights);
  return logG <= 0 ? 1 : Math.exp(-logG);
}

/**
 * log inf_y G (capped above at log 1e12; -Infinity when G is 0 somewhere): the raw e-value's log, which stage
 * stitching multiplies (stage-stitching.ts).
 */
export function twoSampleQuantileLogEvidence(
  a: RankedBuckets,
  b: RankedBuckets,
  q: number,
  limit: number,
  concentrationA: number,
  concentrationB: number,
  weights: MixtureWeights = DEFAULT_MIXTURE_WEIGHTS,
): number {
  return twoSampleQuantileEvidence(a, b, q, concentrationA, concentrationB, weights)(limit);
}

/**
 * The same evidence as a function of `limit`, for inverting the test into a lower bound on the quantile ratio
 * (quantile-fail-bound.ts). Each arm's evidence depends only on how many of its edges are counted, never on
 * `limit`, so its memo is shared by every limit asked. The evidence falls as `limit` grows (A's counts at or
 * below limit y only grow), which makes the rejected limits an interval.
 */
export function twoSampleQuantileEvidence(
  a: RankedBuckets,
  b: RankedBuckets,
  q: number,
  concentrationA: number,
  concentrationB: number,
  weights: MixtureWeights = DEFAULT_MIXTURE_WEIGHTS,
  /** The evaluation's buffers for the arms' memos: the function returned is then valid within it only. */
  buffers?: EvaluationBuffers,
): (limit: number) => number {
  if (a.n === 0 || b.n === 0) return () => 0;
  const lengthA = a.lower.edges.length + 1;
  const lengthB = b.upper.edges.length + 1;
  const eA = new ArmEvidence(a.lower, a.n, q, concentrationA, 'lower', buffers?.takeMemo(lengthA));
  const eB = new ArmEvidence(b.upper, b.n, q, concentrationB, 'upper', buffers?.takeMemo(lengthB));
  if (!buffers) return (limit) => logInfimum(a, b, limit, eA, eB, weights);
  const generation = buffers.generation;
  return (limit) => {
    if (buffers.generation !== generation) {
      throw new Error(
        'a two-sample test of an evaluation that has ended: its memo buffers are in use by another',
      );
    }
    return logInfimum(a, b, limit, eA, eB, weights);
  };
}

/** log G at counts (i, j): the convex combination of the arms' evidence (see above). */
function logGAt(x: number, y: number, la: number, lb: number, lab: number): number {
  return logAddExp(logAddExp(la + x, lb + y), lab + x + y);
}

/** Where interval k starts: 0 up to A's zero-count position, else A's position k - 1. */
function startOfInterval(edgesA: Doubles, k: number, iZero: number, limit: number, shrink: number): number {
  return k <= iZero ? 0 : scaledEdge(edgesA, k - 1, limit, shrink);
}

// Written without closures or array literals: the fail bound's bisection (quantile-fail-bound.ts) calls this
// a dozen times per quantile metric and tick, and the closures each call made were part of the ~11% of a
// tick's garbage this function allocated (heap sampling of one tick at 1 000 runs; issue 13). The arithmetic
// is the same, operation for operation, as when it was written with local helper closures.
function logInfimum(
  a: RankedBuckets,
  b: RankedBuckets,
  limit: number,
  eA: ArmEvidence,
  eB: ArmEvidence,
  weights: MixtureWeights,
): number {
  const la = Math.log(weights.a);
  const lb = Math.log(weights.b);
  const lab = Math.log(weights.ab);
  // Conservative counts, from A's lower edges and B's upper edges each ranked on its own (ranked-buckets.ts;
  // valid for any placement inside buckets that may be coarse and overlap). A value lies in (lower, upper],
  // or [0, upper] when its lower edge is 0. For y in an open interval between consecutive positions P (A's
  // lower edges / limit, B's upper edges, and 0), #{X_A <= limit y} <= i = #{A values: lower edge / limit <= P}
  // and #{X_B < y} >= j = #{B values: upper edge <= P}. At a position P itself the same bounds as on the
  // interval to its left hold (a bucket starting at P holds values above P; one ending at P may hold P), and
  // at y = 0: i = #{lower edge <= 0}, j = 0. G is constant on each interval, rises with j and falls with i.
  const nA = a.lower.edges.length;
  const nB = b.upper.edges.length;
  // lower / limit rounded down (exact when limit is 1), so that A's bucket is never counted late.
  const shrink = limit === 1 ? 1 : 1 - 2 ** -50;
  const edgesA = a.lower.edges;
  const edgesB = b.upper.edges;
  // i at y: countScaledUpTo(edgesA, limit, shrink, y); j at y: countScaledUpTo(edgesB, 1, 1, y).
  const iZero = countScaledUpTo(edgesA, limit, shrink, 0);

  // 1. A first value of G near the crossing of A's (falling) and B's (rising) weighted evidence, over the
  // intervals that start at 0 or at one of A's positions.
  let lo = iZero;
  let hi = nA;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const jMid = countScaledUpTo(edgesB, 1, 1, startOfInterval(edgesA, mid, iZero, limit, shrink));
    if (la + eA.at(mid) <= lb + eB.at(jMid)) hi = mid;
    else lo = mid + 1;
  }
  let g = Math.min(LOG_CAP, logGAt(eA.at(iZero), eB.at(0), la, lb, lab));
  // The intervals either side of the crossing: k = lo - 1, then k = lo.
  for (let k = lo - 1; k <= lo; k++) {
    if (k >= iZero && k <= nA) {
      const jK = countScaledUpTo(edgesB, 1, 1, startOfInterval(edgesA, k, iZero, limit, shrink));
      g = Math.min(g, logGAt(eA.at(k), eB.at(jK), la, lb, lab));
    }
  }
  if (g === -Infinity) return -Infinity;

  // 2. G can be below g only where la + eA.at(i) < g and lb + eB.at(j) < g.
  lo = iZero;
  hi = nA + 1; // smallest i with la + eA.at(i) < g, or nA + 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (la + eA.at(mid) < g) hi = mid;
    else lo = mid + 1;
  }
  if (lo > nA || !(lb + eB.at(0) < g)) return g;
  let y = startOfInterval(edgesA, lo, iZero, limit, shrink);
  lo = 0;
  hi = nB; // largest j with lb + eB.at(j) < g
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lb + eB.at(mid) < g) lo = mid;
    else hi = mid - 1;
  }
  const lastJ = lo;

  // 3. Walk the intervals upwards from there while B's evidence stays below the best value so far.
  let i = countScaledUpTo(edgesA, limit, shrink, y);
  let j = countScaledUpTo(edgesB, 1, 1, y);
  let best = g;
  for (;;) {
    if (j > lastJ || lb + eB.at(j) >= best) break;
    if (la + eA.at(i) < best) best = Math.min(best, logGAt(eA.at(i), eB.at(j), la, lb, lab));
    // Every pass moves i or j past `next` (one of them sits at it), so at most nA + nB + 1 passes; a
    // position that is not a finite number ends the walk rather than stalling it.
    const next = Math.min(
      i < nA ? scaledEdge(edgesA, i, limit, shrink) : Infinity,
      j < nB ? edgesB[j] : Infinity,
    );
    if (!(next < Infinity)) break;
    y = next;
    while (i < nA && scaledEdge(edgesA, i, limit, shrink) <= y) i++;
    while (j < nB && edgesB[j] <= y) j++;
  }
  return best;
}
