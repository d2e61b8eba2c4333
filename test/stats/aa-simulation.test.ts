// Small seeded versions of the detection benchmark's simulations (bench/detection.ts runs thousands of
// 30-minute runs; `npm run bench -- detection`): ten-minute runs at 500 rps, evaluated every 5 s, with a
// generous alpha of 0.2 so that a rule that over-rejects shows it in 40 runs. Deterministic: fixed seeds,
// no clock.
import { describe, expect, it } from 'vitest';
import { allowedFailures } from '../../bench/sim/binomial-bounds.js';
import {
  runScenario,
  type Scenario,
  type SimulatedJudge,
  type TickData,
} from '../../bench/sim/canary-simulation.js';
import { anytimeValidJudge, repeatedFixedHorizonJudge } from '../../bench/sim/judges.js';
import { BASE_LAW, baseScenario, LAWS } from '../../bench/sim/scenarios.js';
import { DEFAULT_METRICS, DEFAULT_POLICY, type MetricSpec } from '../../src/stats/analysis-policy.js';
import { errorRateSequential } from '../../src/stats/error-rate-confidence-sequence.js';

const TEN_MINUTES = [{ seconds: 600, canaryShare: 0.1, declaredShare: 0.1 }];
const short = (s: Scenario): Scenario => ({ ...s, stages: TEN_MINUTES });
const strict = DEFAULT_METRICS.map((m) => ({ ...m, tolerance: 0 }));
const generous = { ...DEFAULT_POLICY, alpha: 0.2, srmAlpha: 0, evidence: 'decisions-only' as const };
const RUNS = 40;

function failures(scenario: Scenario, seed: number, runs: number, judges: () => SimulatedJudge[]): number[] {
  const counts: number[] = [];
  for (let run = 0; run < runs; run++) {
    const js = judges();
    const { failSeconds } = runScenario(scenario, seed + run, js);
    js.forEach((j, i) => (counts[i] = (counts[i] ?? 0) + (failSeconds[j.name] !== null ? 1 : 0)));
  }
  return counts;
}

/** The request-level error-rate test (binomial variance, design effect 1): what bursts used to break. */
function requestLevelErrorJudge(alpha: number): SimulatedJudge {
  return {
    name: 'request-level error rate',
    observe({ cumulative: { baseline, canary } }: TickData): boolean {
      if (Math.min(baseline.requests, canary.requests) < 200) return false;
      const stage = {
        canaryErrors: canary.errors,
        canaryRequests: canary.requests,
        baselineErrors: baseline.errors,
        baselineRequests: baseline.requests,
        canaryDesignEffect: 1,
        baselineDesignEffect: 1,
      };
      return errorRateSequential([stage], stage, 0, alpha, { centre: 0, sd: 0.01 }).worsePValue <= alpha;
    },
  };
}

describe('A/A simulation (small seeded versions of bench/detection.ts)', () => {
  it(`anytime-valid decisions fail at most a binomial allowance of ${RUNS} ten-minute A/A runs at alpha 0.2 and tolerance 0; repeated fixed-horizon tests far more`, () => {
    const [anytime, naive] = failures(short(baseScenario()), 10_000, RUNS, () => [
      anytimeValidJudge(strict, generous),
      repeatedFixedHorizonJudge(strict, 0.2, 200, false),
    ]);
    expect(anytime).toBeLessThanOrEqual(allowedFailures(RUNS, 0.2));
    expect(naive).toBeGreaterThan(allowedFailures(RUNS, 0.2));
  });

  it('errors in bursts of 20 inside one arm: the block-variance test stays within alpha, the request-level one does not', () => {
    const errorRate: MetricSpec[] = [{ id: 'error_rate', kind: 'error_rate', tolerance: 0 }];
    const bursts = short(baseScenario(BASE_LAW, { errors: { burst: 20, shared: false } }));
    const [blocks, requests] = failures(bursts, 20_000, RUNS, () => [
      anytimeValidJudge(errorRate, generous),
      requestLevelErrorJudge(0.2),
    ]);
    expect(blocks).toBeLessThanOrEqual(allowedFailures(RUNS, 0.2));
    expect(requests).toBeGreaterThan(allowedFailures(RUNS, 0.2));
  });

  for (const canaryShare of [0.01, 0.5]) {
    it(`error-rate decisions stay within alpha with a ${canaryShare * 100}% canary share (unequal arms, few canary errors)`, () => {
      const errorRate: MetricSpec[] = [{ id: 'error_rate', kind: 'error_rate', tolerance: 0 }];
      const scenario = {
        ...baseScenario(),
        stages: [{ seconds: 600, canaryShare, declaredShare: canaryShare }],
      };
      const [fails] = failures(scenario, 30_000, RUNS, () => [anytimeValidJudge(errorRate, generous)]);
      expect(fails).toBeLessThanOrEqual(allowedFailures(RUNS, 0.2));
    });
  }

  it('OTel default explicit buckets: a 5% slower canary never fails at a 10% tolerance, a 30% slower one fails within a minute (latency mean)', () => {
    const metrics: MetricSpec[] = [
      ...DEFAULT_METRICS,
      { id: 'latency_mean', kind: 'latency_mean', tolerance: 0.1 },
    ];
    const policy = { ...DEFAULT_POLICY, evidence: 'decisions-only' as const };
    const [slightly] = failures(
      short(baseScenario(LAWS.slower5, { latency: 'explicit' })),
      40_000,
      20,
      () => [anytimeValidJudge(metrics, policy)],
    );
    expect(slightly).toBe(0);
    for (let run = 0; run < 10; run++) {
      const judge = anytimeValidJudge(metrics, policy);
      const t = runScenario(short(baseScenario(LAWS.slower30, { latency: 'explicit' })), 41_000 + run, [
        judge,
      ]).failSeconds[judge.name];
      expect(t).not.toBeNull();
      expect(t!).toBeLessThanOrEqual(60);
    }
  });
});
