// logNormalMixture (src/stats/normal-mixture.ts) keeps its components' terms in one reused buffer: each call
// must read only its own prior's terms, whatever prior, longer or shorter, the call before it had.
import { describe, expect, it } from 'vitest';
import { logNormalMixture, type NormalMixtureComponent } from '../../src/stats/normal-mixture.js';

/** The log-sum-exp of weighted single components, in the order and with the operations the mixture uses. */
function reference(s: number, v: number, prior: readonly NormalMixtureComponent[]): number {
  const terms = prior.map(
    (c) => Math.log(c.weight ?? 1) + logNormalMixture(s, v, { centre: c.centre, sd: c.sd }),
  );
  const max = terms.reduce((m, t) => Math.max(m, t), -Infinity);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return max + Math.log(sum);
}

const TWO: NormalMixtureComponent[] = [
  { weight: 0.8, centre: 0.01, sd: 0.005 },
  { weight: 0.2, centre: 0, sd: 0.05 },
];
// Priors of three components and two, to call in turn.
const THREE: NormalMixtureComponent[] = [
  { weight: 0.5, centre: 0.02, sd: 0.01 },
  { weight: 0.3, centre: 0, sd: 0.1 },
  { weight: 0.2, centre: 1, sd: 0.001 },
];

describe('logNormalMixture', () => {
  it('gives each prior its own terms, after longer and shorter priors alike', () => {
    const cases: Array<[number, number]> = [
      [50, 1e4],
      [-20, 4e3],
      [0.3, 10],
      [400, 2e4],
    ];
    for (const [s, v] of cases) {
      const two = reference(s, v, TWO);
      const three = reference(s, v, THREE);
      expect(logNormalMixture(s, v, TWO)).toBe(two);
      expect(logNormalMixture(s, v, THREE)).toBe(three);
      expect(logNormalMixture(s, v, TWO)).toBe(two);
      expect(logNormalMixture(s, v, [TWO[0]])).toBe(reference(s, v, [TWO[0]]));
      expect(logNormalMixture(s, v, THREE)).toBe(three);
    }
    expect(reference(400, 2e4, THREE)).not.toBe(reference(400, 2e4, TWO));
  });

  it('reads no stale term, however much larger than its own it is', () => {
    // At S = 8000, V = 2e4 (a gap of 0.4) FITTING's term is ~1600 nats and NARROW's ~0.1: the one-component call
    // after the two-component one would come out -Infinity were FITTING's term taken into its maximum, and
    // Infinity into its sum.
    const NARROW: NormalMixtureComponent = { weight: 0.5, centre: 0, sd: 1e-4 };
    const FITTING: NormalMixtureComponent = { weight: 0.5, centre: 0.4, sd: 0.05 };
    const alone = reference(8000, 2e4, [NARROW]);
    expect(reference(8000, 2e4, [NARROW, FITTING]) - alone).toBeGreaterThan(1000);
    expect(logNormalMixture(8000, 2e4, [NARROW, FITTING])).toBe(reference(8000, 2e4, [NARROW, FITTING]));
    expect(logNormalMixture(8000, 2e4, [NARROW])).toBe(alone);
    expect(logNormalMixture(8000, 2e4, [NARROW, FITTING, NARROW])).toBe(
      reference(8000, 2e4, [NARROW, FITTING, NARROW]),
    );
    expect(logNormalMixture(8000, 2e4, [NARROW, NARROW])).toBe(reference(8000, 2e4, [NARROW, NARROW]));
  });

  it('is 0 without information and -Infinity when every component is', () => {
    expect(logNormalMixture(5, 0, THREE)).toBe(0);
    expect(logNormalMixture(5, 1, [{ weight: 0, centre: 0, sd: 1 }])).toBe(-Infinity);
  });
});
