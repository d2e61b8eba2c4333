// invertLogEvidence (src/stats/normal-mixture.ts) against the 60-step bisection it replaced, kept here as the
// reference: same boundary to the width 60 halvings of the span leave (or a few ulps), always a rejected
// point, and far fewer evaluations of the evidence.
import { describe, expect, it } from 'vitest';
import {
  invertLogEvidence,
  logNormalMixture,
  type NormalMixturePrior,
} from '../../src/stats/normal-mixture.js';
import { seeded } from '../support/arm-spans.js';

function referenceBisection(
  logEvidenceAt: (theta0: number) => number,
  estimate: number,
  alpha: number,
  sign: 1 | -1,
  span: number,
): number {
  const threshold = Math.log(1 / alpha);
  let inside = estimate;
  let outside = estimate - sign * span;
  if (!(logEvidenceAt(outside) >= threshold)) return outside;
  for (let i = 0; i < 60; i++) {
    const mid = (inside + outside) / 2;
    if (logEvidenceAt(mid) >= threshold) outside = mid;
    else inside = mid;
  }
  return outside;
}

function ulp(x: number): number {
  const a = Math.abs(x);
  return a === 0 ? Number.MIN_VALUE : 2 ** (Math.floor(Math.log2(a)) - 52);
}

/** How far the two may differ: both are within the bisection's last bracket of the same crossing. */
function allowed(reference: number, span: number): number {
  return 2 * span * 2 ** -60 + 4 * ulp(reference);
}

interface Case {
  evidence: (theta0: number) => number;
  estimate: number;
  alpha: number;
  sign: 1 | -1;
  span: number;
}

const PRIORS: NormalMixturePrior[] = [
  { centre: 0, sd: 0.05 },
  [
    { centre: 0.01, sd: 0.005, weight: 0.8 },
    { centre: 0, sd: 0.5, weight: 0.2 },
  ],
  [
    { centre: 0.2, sd: 0.1, weight: 0.8 },
    { centre: 0, sd: 2, weight: 0.2 },
  ],
];
const ALPHAS = [0.05, 0.01, 0.001, 1e-6];

/** Stitched stages: S = sign * sum (estimate_i - theta0) V_i, some with a variance that depends on theta0. */
function randomCase(random: () => number): Case {
  const sign: 1 | -1 = random() < 0.5 ? 1 : -1;
  const span = random() < 0.7 ? 2 : 20;
  const prior = PRIORS[Math.floor(random() * PRIORS.length)];
  const stages = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
    estimate: (random() - 0.5) * (random() < 0.5 ? 0.02 : 1),
    information: 10 ** (random() * 8),
    curvature: random() < 0.5 ? 0 : random() * 3,
  }));
  let centre = 0;
  let weight = 0;
  for (const s of stages) {
    centre += s.estimate * s.information;
    weight += s.information;
  }
  const evidence = (theta0: number): number => {
    let sum = 0;
    let time = 0;
    for (const s of stages) {
      // Information that shrinks with |theta0| as a binomial variance does: V_i / (1 + c theta0^2).
      const v = s.information / (1 + s.curvature * theta0 * theta0);
      sum += sign * (s.estimate - theta0) * v;
      time += v;
    }
    return logNormalMixture(sum, time, prior);
  };
  return {
    evidence,
    estimate: centre / weight,
    alpha: ALPHAS[Math.floor(random() * ALPHAS.length)],
    sign,
    span,
  };
}

function counted(f: (t: number) => number): { f: (t: number) => number; count: () => number } {
  let n = 0;
  return {
    f: (t) => {
      n++;
      return f(t);
    },
    count: () => n,
  };
}

function check(c: Case): { ours: number; reference: number } {
  const a = counted(c.evidence);
  const b = counted(c.evidence);
  const ours = invertLogEvidence(a.f, c.estimate, c.alpha, c.sign, c.span);
  const reference = referenceBisection(b.f, c.estimate, c.alpha, c.sign, c.span);
  if (Number.isNaN(reference)) expect(ours).toBeNaN();
  else expect(Math.abs(ours - reference)).toBeLessThanOrEqual(allowed(reference, c.span));
  const threshold = Math.log(1 / c.alpha);
  // Conservative: whenever the far end is rejected, the returned point is rejected too.
  if (c.evidence(c.estimate - c.sign * c.span) >= threshold) expect(c.evidence(ours) >= threshold).toBe(true);
  return { ours: a.count(), reference: b.count() };
}

describe('invertLogEvidence', () => {
  it('matches the 60-step bisection over random stitched evidence, returns a rejected point, and evaluates far less', () => {
    const random = seeded(20261130);
    let ours = 0;
    let reference = 0;
    let most = 0;
    const cases = 4000;
    for (let i = 0; i < cases; i++) {
      const n = check(randomCase(random));
      ours += n.ours;
      reference += n.reference;
      most = Math.max(most, n.ours);
    }
    expect(reference / cases).toBeGreaterThan(55);
    expect(ours / cases).toBeLessThan(reference / cases / 3);
    expect(most).toBeLessThanOrEqual(4 * 60 + 2); // bracketRoot's cap and its first two evaluations
  });

  it('keeps the edge cases of the bisection', () => {
    const t = Math.log(1 / 0.05);
    const edge: Case[] = [
      // Never reaching the threshold: the far end.
      { evidence: () => 0, estimate: 0.1, alpha: 0.05, sign: 1, span: 2 },
      { evidence: () => -Infinity, estimate: 0.1, alpha: 0.05, sign: -1, span: 2 },
      { evidence: () => NaN, estimate: 0.1, alpha: 0.05, sign: 1, span: 2 },
      // Rejected everywhere, the estimate included: the bound ends at the estimate.
      { evidence: () => 100, estimate: 0.1, alpha: 0.05, sign: 1, span: 2 },
      { evidence: () => Infinity, estimate: -0.3, alpha: 0.05, sign: -1, span: 20 },
      // Boundary at the estimate: evidence just reaching the threshold there.
      { evidence: (x) => t + (0.1 - x) * 5, estimate: 0.1, alpha: 0.05, sign: 1, span: 2 },
      // A step (a jump to infinite evidence) and a finite step.
      { evidence: (x) => (x < 0.0123 ? Infinity : 0), estimate: 0.2, alpha: 0.05, sign: 1, span: 2 },
      { evidence: (x) => (x > 0.0123 ? 10 : 0), estimate: 0, alpha: 0.05, sign: -1, span: 2 },
      // NaN between the estimate and the boundary, and beyond it.
      { evidence: (x) => (x > 0.05 ? NaN : (0.05 - x) * 1e4), estimate: 0.1, alpha: 0.05, sign: 1, span: 2 },
      { evidence: (x) => (x < -1 ? NaN : (0.1 - x) * 50), estimate: 0.1, alpha: 0.05, sign: 1, span: 2 },
      {
        evidence: (x) => (x < -1.5 ? Infinity : (0.1 - x) * 2),
        estimate: 0.1,
        alpha: 0.05,
        sign: 1,
        span: 2,
      },
      // A boundary at zero and a tiny one.
      { evidence: (x) => -x * 1e6 + t, estimate: 0.5, alpha: 0.05, sign: 1, span: 2 },
      { evidence: (x) => (1e-15 - x) * 1e9 + t, estimate: 0.5, alpha: 0.05, sign: 1, span: 2 },
      // Estimate at the bound of the parameter (an error-rate difference of -1 or 1).
      {
        evidence: (x) => logNormalMixture((1 - x) * 1e4, 1e4, PRIORS[1]),
        estimate: 1,
        alpha: 0.01,
        sign: 1,
        span: 2,
      },
      {
        evidence: (x) => logNormalMixture((x + 1) * 1e4, 1e4, PRIORS[1]),
        estimate: -1,
        alpha: 0.01,
        sign: -1,
        span: 2,
      },
    ];
    for (const c of edge) check(c);
  });
});
