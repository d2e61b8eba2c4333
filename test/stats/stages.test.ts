// Stage-stratified evaluation (issue 10, stages; statistics side): a run's stages each compare the arms on
// their own data, the traffic split is checked against each stage's declared share, and a baseline that
// drifts while the share grows cannot look like a canary effect. Seeded simulations of the Flagger-style ramp
// 10 -> 20 -> 30 -> 40 -> 50% (6 min per step) and small constructed cases; bench/detection.ts runs the
// ramp scenarios over hundreds to thousands of runs.
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../bench/sim/canary-simulation.js';
import { anytimeValidJudge, anytimeValidOutcomeJudge } from '../../bench/sim/judges.js';
import { BASE_LAW, baseScenario, LAWS, RAMP } from '../../bench/sim/scenarios.js';
import { ArmState } from '../../src/accumulate/arm-state.js';
import {
  DEFAULT_METRICS,
  DEFAULT_POLICY,
  initialSequentialState,
  type MetricSpec,
  type StageArms,
} from '../../src/stats/analysis-policy.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';

const policy = { ...DEFAULT_POLICY, evidence: 'decisions-only' as const };

describe('stages: the Flagger-style ramp 10 -> 50%', () => {
  it('a healthy canary with every step declared passes in the last stage, never fails, never fails the split', () => {
    for (let run = 0; run < 4; run++) {
      const judge = anytimeValidOutcomeJudge(DEFAULT_METRICS, policy, 'healthy', RAMP.length - 1);
      const { failSeconds } = runScenario(baseScenario(BASE_LAW, { stages: RAMP }), 50_000 + run, [judge]);
      expect(failSeconds.healthy).toBeNull();
      expect(judge.splitFailed).toBe(false);
      expect(judge.passedInLastStage).toBe(true);
    }
  });

  it('the same ramp with a regression from the 30% step fails, and only once that step has begun', () => {
    for (let run = 0; run < 4; run++) {
      const judge = anytimeValidJudge(DEFAULT_METRICS, policy);
      const scenario = baseScenario(LAWS.ramped, { stages: RAMP, canaryFromStage: 2 });
      const t = runScenario(scenario, 51_000 + run, [judge]).failSeconds[judge.name];
      expect(t).not.toBeNull();
      expect(t!).toBeGreaterThan(2 * 360);
    }
  });

  it('A/A with a latency drift of x2 over the ramp: stratified by stage no run fails; pooled over the run every run fails (Simpson)', () => {
    let stratified = 0;
    let pooled = 0;
    for (let run = 0; run < 6; run++) {
      const a = anytimeValidJudge(DEFAULT_METRICS, policy, 'stages');
      const b = { ...anytimeValidJudge(DEFAULT_METRICS, policy, 'pooled'), name: 'pooled' };
      const { failSeconds } = runScenario(
        baseScenario(BASE_LAW, { stages: RAMP, latencyDrift: 2 }),
        52_000 + run,
        [a, b],
      );
      if (failSeconds[a.name] !== null) stratified++;
      if (failSeconds.pooled !== null) pooled++;
    }
    expect(stratified).toBe(0);
    expect(pooled).toBe(6);
  });
});

/** An arm with `n` requests whose latencies are all `ms` milliseconds (spread over a few buckets). */
function arm(n: number, ms: number): ArmState {
  const a = new ArmState();
  a.requests = n;
  for (let i = 0; i < n; i++) a.latency.record(ms * 1e6 * (0.8 + (0.4 * i) / n));
  return a;
}

const p50: MetricSpec[] = [{ id: 'latency_p50', kind: 'latency_quantile', quantile: 0.5, tolerance: 0.1 }];

describe('stages: constructed cases', () => {
  it('Simpson: identical arms in each stage while the service slows from 50 to 100 ms and the share grows from 10% to 50%', () => {
    const stages: StageArms[] = [
      { baseline: arm(9000, 50), canary: arm(1000, 50), canaryShare: 0.1 },
      { baseline: arm(5000, 100), canary: arm(5000, 100), canaryShare: 0.5 },
    ];
    const stratified = evaluateAnalysis(stages, p50, DEFAULT_POLICY, initialSequentialState());
    expect(stratified.decision).toBe('pass');
    const pool = (which: 'baseline' | 'canary'): ArmState => {
      const merged = new ArmState();
      for (const s of stages) merged.mergeFrom(s[which]);
      return merged;
    };
    const pooled = evaluateAnalysis(
      [{ baseline: pool('baseline'), canary: pool('canary'), canaryShare: null }],
      p50,
      DEFAULT_POLICY,
      initialSequentialState(),
    );
    expect(pooled.decision).toBe('fail');
  });

  it('checks each stage against its own declared share, skips undeclared stages and says so', () => {
    const stages: StageArms[] = [
      { baseline: arm(9000, 50), canary: arm(1000, 50), canaryShare: 0.1 },
      { baseline: arm(8000, 50), canary: arm(2000, 50), canaryShare: null },
      { baseline: arm(5000, 50), canary: arm(5000, 50), canaryShare: 0.5 },
    ];
    const r = evaluateAnalysis(stages, p50, DEFAULT_POLICY, initialSequentialState());
    expect(r.srm.mismatch).toBe(false);
    expect(r.srm.checked).toBe(true);
    expect(r.srm.stages.map((s) => s.checked)).toEqual([true, false, true]);
    expect(r.srm.stages[1].reason).toBe('stage 2: no canary share declared, traffic split not checked');
    expect(r.stageCount).toBe(3);
    // A stage whose real split is not the declared one fails the run, whatever the others.
    stages[2] = { ...stages[2], canaryShare: 0.3 };
    const wrong = evaluateAnalysis(stages, p50, DEFAULT_POLICY, initialSequentialState());
    expect(wrong.decision).toBe('fail');
    expect(wrong.reason).toMatch(/^traffic split mismatch .*stage 3: canary share 50% vs declared 30%/);
  });

  it('a pass speaks for the current stage: its evidence restarts when a stage begins, fail evidence carries over', () => {
    const first = [{ baseline: arm(9000, 50), canary: arm(1000, 50), canaryShare: 0.1 }];
    const one = evaluateAnalysis(first, p50, DEFAULT_POLICY, initialSequentialState());
    expect(one.decision).toBe('pass');
    const second = [...first, { baseline: arm(50, 50), canary: arm(50, 50), canaryShare: 0.5 }];
    const two = evaluateAnalysis(second, p50, DEFAULT_POLICY, JSON.parse(JSON.stringify(one.state)));
    expect(two.decision).toBe('running');
    expect(two.metrics[0].withinPValue).toBe(1);
    expect(two.metrics[0].alwaysValidPValue).toBe(one.metrics[0].alwaysValidPValue);
  });
});
