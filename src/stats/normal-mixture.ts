// One-sided normal-mixture e-process for a drift, shared by the error-rate and latency-mean tests.
//
// For an estimate whose centred, information-scaled sum S = (d - theta0) V has (asymptotically) independent
// Gaussian increments with variance dV under theta = theta0, exp(lambda S - lambda^2 V / 2) is a nonnegative
// (super)martingale for every lambda >= 0 when theta <= theta0 (Howard, Ramdas, McAuliffe & Sekhon,
// "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Stat. 2021, sections 2-3; with a
// plug-in variance the guarantee is asymptotic: Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform
// central limit theory and asymptotic confidence sequences", Ann. Stat. 2024). Mixing lambda over a prior on
// [0, inf) keeps the property, so E = integral of it is an e-process for H0: theta <= theta0, and by Ville's
// inequality min(1, 1/E) is an always-valid p-value.
//
// Prior: a normal N(centre, sd^2) truncated to lambda >= 0. lambda is the alternative's gap theta1 - theta0 in
// the units of theta, so the prior says which regressions the test should catch fastest (Johari et al.,
// "Always valid inference", Oper. Res. 2022, tune their mixture the same way). With centre 0 it is the
// half-normal mixture of Howard et al. 2021; centring it on a gap of the size of the tolerance spends less
// of the evidence on implausibly small or large regressions. Closed form, with A = V + 1/sd^2 and
// B = S + centre/sd^2:
//   log E = B^2/(2A) - centre^2/(2 sd^2) + log Phi(B/sqrt(A)) - log Phi(centre/sd) - log(sd sqrt(A)).
// It only depends on (S, V), so stage-stratified sums of S and V (evaluate-analysis.ts) use it unchanged.
// A prior concentrated on tolerance-sized gaps is slow for a gross regression (its density there is tiny), so
// the tests mix it with a wide half-normal: a fixed convex combination of e-processes is an e-process, and a
// 0.8 / 0.2 split costs log(1/0.8) = 0.22 nats where the narrow component decides, while a tenfold regression
// is caught by the wide one within a few hundred samples.
import { normalCdf } from './normal-distribution.js';

export interface NormalMixtureComponent {
  /** Centre of the prior on the alternative's gap (>= 0), in the units of the tested parameter. */
  centre: number;
  /** Spread of the prior (> 0), same units. */
  sd: number;
  /** Weight of this component; the weights of a prior sum to 1 (one component: weight 1). */
  weight?: number;
}

/** One component, or several with weights summing to 1. */
export type NormalMixturePrior = NormalMixtureComponent | NormalMixtureComponent[];

/** log Phi(x), finite far into the lower tail (Mills ratio asymptotics below -30). */
export function logNormalCdf(x: number): number {
  if (x > -30) return Math.log(normalCdf(x));
  const x2 = x * x;
  // Phi(x) ~ phi(x)/|x| (1 - 1/x^2 + 3/x^4) for x -> -inf.
  return -0.5 * x2 - Math.log(-x) - 0.5 * Math.log(2 * Math.PI) + Math.log1p(-1 / x2 + 3 / (x2 * x2));
}

/** logNormalMixture's terms (logComponent calls nothing that uses it). */
let terms = new Float64Array(2);

/** log E for the information-scaled sum S and intrinsic time V (see above); 0 when V = 0. */
export function logNormalMixture(s: number, v: number, prior: NormalMixturePrior): number {
  if (!(v > 0)) return 0;
  if (!Array.isArray(prior)) return logComponent(s, v, prior);
  // The components' terms go to a reused buffer: the confidence sequences' searches call this some hundred
  // times per run and tick, and an array of terms (and its closure) per call was garbage for the young
  // generation during the judge's tick (issue 13). A double stored in a Float64Array reads back unchanged.
  if (terms.length < prior.length) terms = new Float64Array(prior.length);
  let max = -Infinity;
  for (let i = 0; i < prior.length; i++) {
    const c = prior[i];
    const t = Math.log(c.weight ?? 1) + logComponent(s, v, c);
    max = Math.max(max, t);
    terms[i] = t;
  }
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < prior.length; i++) sum += Math.exp(terms[i] - max);
  return max + Math.log(sum);
}

function logComponent(s: number, v: number, prior: NormalMixtureComponent): number {
  const precision = 1 / (prior.sd * prior.sd);
  const a = v + precision;
  const b = s + prior.centre * precision;
  return (
    (b * b) / (2 * a) -
    (prior.centre * prior.centre * precision) / 2 +
    logNormalCdf(b / Math.sqrt(a)) -
    logNormalCdf(prior.centre / prior.sd) -
    Math.log(prior.sd * Math.sqrt(a))
  );
}

/** min(1, 1 / E) from log E. */
export function pValueOfLogEvidence(logE: number): number {
  return logE <= 0 ? 1 : Math.exp(-logE);
}

/**
 * The boundary of a one-sided confidence sequence: the theta0 nearest to `estimate`, moving in direction
 * -sign, whose test rejects at alpha, given log E as a function of theta0 (it grows as theta0 moves away from
 * the estimate, so the rejected values form an interval). `span` is how far to search; the far end is
 * returned when even it is not rejected. The returned point is always one whose evidence reached the
 * threshold (the conservative end of the last bracket), within the width a 60-step bisection of the span
 * ends at (BISECTION_STEPS) of the crossing that bisection finds, with far fewer evaluations (see bracketRoot).
 */
export function invertLogEvidence(
  logEvidenceAt: (theta0: number) => number,
  estimate: number,
  alpha: number,
  sign: 1 | -1,
  span: number,
): number {
  const threshold = Math.log(1 / alpha);
  const outside = estimate - sign * span;
  const logEAtOutside = logEvidenceAt(outside);
  if (!(logEAtOutside >= threshold)) return outside;
  // log E grows about as the square of the distance from the estimate (B^2 / 2A above), so its square root
  // is nearly linear there and interpolation converges in a few steps; the sign, hence what is rejected, is
  // the same as that of log E - threshold (threshold > 0; kept exact where sqrt rounds two values together).
  const root = Math.sqrt(threshold);
  const distance = (logE: number): number =>
    logE >= threshold
      ? Math.max(Math.sqrt(logE) - root, 0)
      : Math.min(Math.sqrt(Math.max(0, logE)) - root, -Number.MIN_VALUE);
  return bracketRoot((t) => distance(logEvidenceAt(t)), estimate, outside, distance(logEAtOutside), span);
}

/** The bisection this search replaces halved the span 60 times; its result is that close to the boundary. */
const BISECTION_STEPS = 60;

/**
 * Illinois regula falsi (Dowell & Jarratt, BIT 11, 1971) on a bracket [inside, outside] with g(outside) >= 0,
 * g(inside) assumed < 0 as the bisection assumed it, keeping the rejected end at every step. It stops when
 * the bracket is as narrow as 60 halvings of the span make it (or the two ends are adjacent doubles), so its
 * answer and the bisection's are both within that width of the same crossing. Safeguards: a step closer than
 * the tolerance to an end is pushed to the tolerance (so the last step lands across the crossing and closes
 * the bracket), a non-finite value or a bracket that did not halve in three steps takes a bisection step,
 * and the inside end is evaluated only when interpolation needs it.
 */
function bracketRoot(
  g: (t: number) => number,
  insideStart: number,
  outsideStart: number,
  gOutsideStart: number,
  span: number,
): number {
  const tol = span * 2 ** -BISECTION_STEPS;
  let inside = insideStart;
  let outside = outsideStart;
  let gOut = gOutsideStart;
  let gIn = g(inside);
  // The estimate itself is rejected: it is the nearest rejected point (a bisection would only walk every
  // midpoint back to within its width of it).
  if (gIn >= 0) return inside;
  let side = 0; // +1 when the last two steps both moved the outside end, -1 the inside end
  let lastWidth = Math.abs(outside - inside);
  let sinceHalved = 0;
  for (let evaluations = 0; evaluations < 4 * BISECTION_STEPS; evaluations++) {
    const width = Math.abs(outside - inside);
    const mid = (inside + outside) / 2;
    if (width <= tol || mid === inside || mid === outside) return outside;
    let t: number;
    if (!Number.isFinite(gIn) || !Number.isFinite(gOut) || sinceHalved >= 3) {
      t = mid;
    } else {
      t = outside - (gOut * (outside - inside)) / (gOut - gIn);
      if (!Number.isFinite(t)) t = mid;
      // Keep the step at least tol (and an ulp or so) inside either end (the interval is [min, max] of the ends).
      const step = Math.max(tol, Number.EPSILON * Math.max(Math.abs(inside), Math.abs(outside)));
      const toward = inside < outside ? 1 : -1;
      const lo = inside + toward * step;
      const hi = outside - toward * step;
      if ((t - lo) * toward < 0) t = lo;
      if ((hi - t) * toward < 0) t = hi;
    }
    const gt = g(t);
    if (gt >= 0) {
      outside = t;
      gOut = gt;
      if (side === 1) gIn /= 2;
      side = 1;
    } else {
      inside = t;
      gIn = Number.isNaN(gt) ? -Infinity : gt;
      if (side === -1) gOut /= 2;
      side = -1;
    }
    const newWidth = Math.abs(outside - inside);
    if (newWidth <= lastWidth / 2) {
      lastWidth = newWidth;
      sinceHalved = 0;
    } else sinceHalved++;
  }
  return outside;
}
