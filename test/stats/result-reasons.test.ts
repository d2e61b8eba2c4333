import { describe, expect, it } from 'vitest';
import { Random } from '../../bench/sim/random.js';
import { ArmState } from '../../src/accumulate/arm-state.js';
import { DEFAULT_POLICY, initialSequentialState } from '../../src/stats/analysis-policy.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';

function arm(n: number, sigma: number, seed: number): ArmState {
  const a = new ArmState();
  const random = new Random(seed);
  a.requests = n;
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - random.uniform())) * Math.cos(2 * Math.PI * random.uniform());
    a.latency.record(50e6 * Math.exp(sigma * z));
  }
  return a;
}

describe('latency reasons', () => {
  it('say when a fail comes from the two-sample test while the per-arm ratio bounds still reach the limit', () => {
    // p95 +20% with the median unchanged, 1,000 canary and 9,000 baseline samples.
    const r = evaluateAnalysis(
      [
        {
          baseline: arm(9000, 0.5, 2),
          canary: arm(1000, 0.5 + Math.log(1.2) / 1.6449, 102),
          canaryShare: 0.1,
        },
      ],
      [{ id: 'latency_p95', kind: 'latency_quantile', quantile: 0.95, tolerance: 0 }],
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    const m = r.metrics[0];
    expect(m.decision).toBe('fail');
    expect(m.effect.lower as number).toBeLessThanOrEqual(1);
    expect(m.reason).toMatch(
      /exceeds tolerance x1\.000 by the two-sample test \(per-arm bounds not yet past it\)/,
    );
  });
});
