// A/A simulation (ARCHITECTURE.md, Statistics): seeded runs evaluated every 5 s for 30 simulated minutes at
// 500 rps with a 10% canary. Tolerances are 0 on every metric, the hardest case for false fails (the null
// sits on the boundary). bench/detection.ts runs the same harness with 2,000 runs.
import { describe, expect, it } from 'vitest';
import { allowedFailures } from '../../bench/sim/binomial-bounds.js';
import { runScenario, type Scenario } from '../../bench/sim/canary-simulation.js';
import { baseScenario } from '../../bench/sim/scenarios.js';
import { anytimeValidJudge, repeatedFixedHorizonJudge } from '../../bench/sim/judges.js';
import { DEFAULT_METRICS, DEFAULT_POLICY } from '../../src/stats/analysis-policy.js';

const law = { errorRate: 0.01, mu: Math.log(50e6), sigma: 0.5 };
const scenario: Scenario = baseScenario(law);
const metrics = DEFAULT_METRICS.map((m) => ({ ...m, tolerance: 0 }));
const policy = { ...DEFAULT_POLICY, evidence: 'decisions-only' as const };
const RUNS = 120;

describe('A/A simulation', () => {
  it(`anytime-valid decisions fail at most alpha = 0.01 of ${RUNS} continuously evaluated A/A runs, repeated fixed-horizon tests far more`, () => {
    let anytime = 0;
    let naive = 0;
    for (let run = 0; run < RUNS; run++) {
      const outcome = runScenario(scenario, 10_000 + run, [
        anytimeValidJudge(metrics, policy),
        repeatedFixedHorizonJudge(metrics, 0.01, 200, false),
      ]);
      const { failSeconds } = outcome;
      expect(Object.keys(failSeconds).sort()).toEqual([
        'anytime-valid (canary-judge)',
        'repeated fixed-horizon (alpha per metric)',
      ]);
      if (failSeconds['anytime-valid (canary-judge)'] !== null) anytime++;
      if (failSeconds['repeated fixed-horizon (alpha per metric)'] !== null) naive++;
    }
    // Monte-Carlo bound: more than allowedFailures would reject "false-fail rate <= 0.01" at the 0.001 level.
    expect(anytime).toBeLessThanOrEqual(allowedFailures(RUNS, 0.01));
    expect(naive).toBeGreaterThan(allowedFailures(RUNS, 0.01));
    expect(naive).toBeGreaterThanOrEqual(5 * Math.max(1, anytime));
  }, 110_000);

  it('latency p95 fail decisions (two-sample mixture) stay within a generous alpha = 0.2 on their own', () => {
    // At alpha 0.2 a test that over-rejects would show it in 100 runs; the boundary (tolerance 0) is the
    // hardest null. bench/sim/quick-detection.ts runs the same with 600 runs per quantile and share.
    const p95 = [{ id: 'latency_p95', kind: 'latency_quantile' as const, quantile: 0.95, tolerance: 0 }];
    let fails = 0;
    for (let run = 0; run < 100; run++) {
      const outcome = runScenario(scenario, 30_000 + run, [
        anytimeValidJudge(p95, { ...policy, alpha: 0.2, srmAlpha: 0 }),
      ]);
      if (outcome.failSeconds['anytime-valid (canary-judge)'] !== null) fails++;
    }
    expect(fails).toBeLessThanOrEqual(allowedFailures(100, 0.2));
  }, 60_000);

  for (const canaryShare of [0.01, 0.5]) {
    it(`error-rate decisions stay within alpha with a ${canaryShare * 100}% canary share (unequal arms, few canary errors)`, () => {
      const errorRate = [{ id: 'error_rate', kind: 'error_rate' as const, tolerance: 0 }];
      let fails = 0;
      for (let run = 0; run < 100; run++) {
        const outcome = runScenario(
          { ...scenario, stages: [{ seconds: 1800, canaryShare, declaredShare: canaryShare }] },
          20_000 + run,
          [anytimeValidJudge(errorRate, { ...policy, canaryShare })],
        );
        if (outcome.failSeconds['anytime-valid (canary-judge)'] !== null) fails++;
      }
      expect(fails).toBeLessThanOrEqual(allowedFailures(100, 0.01));
    }, 60_000);
  }
});
