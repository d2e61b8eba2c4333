// evaluateAnalysis called again on the same stages with the state it returned gives the same evaluation and
// the same state (src/stats/README.md): the property that lets the judge reuse a run's last evaluation while
// no new evidence arrived (judge/run-judgement.ts; test/judge/evaluation-reuse.test.ts checks the documents).
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { Observation } from '../../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';
import { analysisSchema } from '../../src/config/analysis.js';
import { planAnalysis } from '../../src/judge/analysis-plan.js';
import { initialSequentialState, type AnalysisSequentialState } from '../../src/stats/analysis-policy.js';
import { evaluateAnalysis, type StageArms } from '../../src/stats/evaluate-analysis.js';
import { seeded } from '../support/arm-spans.js';

const NOW = 10_000_000;

function traffic(random: () => number, count: number, slowdown: number, canaryErrors: number): Observation[] {
  return Array.from({ length: count }, () => {
    const arm = random() < 0.3 ? ('canary' as const) : ('baseline' as const);
    const scale = arm === 'canary' ? slowdown : 1;
    return {
      kind: 'span' as const,
      runId: 'run',
      arm,
      sourceKey: arm,
      timeUnixMs: 0,
      durationNanos: Math.round(
        scale *
          5e7 *
          Math.exp(0.5 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())),
      ),
      isError: random() < (arm === 'canary' ? canaryErrors : 0.02),
    };
  });
}

describe('evaluateAnalysis on unchanged stages', () => {
  it.each([
    { seed: 1, slowdown: 1, canaryErrors: 0.02 },
    { seed: 2, slowdown: 1.25, canaryErrors: 0.02 },
    { seed: 3, slowdown: 1, canaryErrors: 0.06 },
    { seed: 4, slowdown: 1.08, canaryErrors: 0.03 },
  ])('returns the same evaluation and state (seed $seed)', ({ seed, slowdown, canaryErrors }) => {
    const spec = analysisSchema.parse({
      id: 'a',
      variant: { flag: 'f' },
      baseline: 'off',
      canary: 'on',
      metrics: [
        { name: 'latency', kind: 'latency', quantiles: [0.5, 0.99], mean: true, tolerance: 0.1 },
        { name: 'errors', kind: 'error_rate', tolerance: 0.01 },
      ],
      judge: { minSamplesPerArm: 50 },
    });
    const plan = planAnalysis(spec);
    const accumulator = new Accumulator({
      watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 },
      clock: () => NOW,
    });
    accumulator.open('run', { startedAtMs: 0, canaryShare: 0.3 });
    const random = seeded(seed);
    let carried: AnalysisSequentialState = initialSequentialState();
    for (let tick = 1; tick <= 14; tick += 1) {
      if (tick === 8) accumulator.declareStage('run', { startedAtMs: 0, canaryShare: 0.3 });
      // Ticks 4 and 11 bring nothing: the state carried into them is already the fixpoint's.
      if (tick !== 4 && tick !== 11) accumulator.accept(traffic(random, 200, slowdown, canaryErrors));
      const stages: StageArms[] = accumulator.read('run', NOW).map((stage) => ({
        baseline: stage.baseline,
        canary: stage.canary,
        canaryShare: stage.canaryShare,
        splitRequests: stage.settled,
      }));
      for (const evidence of ['decisions-only', 'full'] as const) {
        const policy = { ...plan.policy, canaryShare: 0.3, evidence };
        const first = evaluateAnalysis(stages, plan.metrics, policy, carried);
        const again = evaluateAnalysis(stages, plan.metrics, policy, first.state);
        expect(again).toEqual(first);
        if (evidence === 'decisions-only') carried = first.state;
      }
    }
  });
});
