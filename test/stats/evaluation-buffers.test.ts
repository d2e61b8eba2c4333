// evaluateAnalysis writes its arms' rank views and the two-sample test's memos into buffers it reuses from one
// evaluation to the next (src/stats/evaluation-buffers.ts): what one run's evaluation leaves in them must never
// reach another's, whatever their sizes and stage counts, and what an ended evaluation built must not be read.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import { LatencyHistogram } from '../../src/accumulate/latency-histogram.js';
import type { Observation } from '../../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';
import { analysisSchema } from '../../src/config/analysis.js';
import { planAnalysis } from '../../src/judge/analysis-plan.js';
import { initialSequentialState } from '../../src/stats/analysis-policy.js';
import { ArmLatency } from '../../src/stats/arm-latency.js';
import { evaluateAnalysis, type StageArms } from '../../src/stats/evaluate-analysis.js';
import { EvaluationBuffers } from '../../src/stats/evaluation-buffers.js';
import { twoSampleQuantileEvidence } from '../../src/stats/quantile-two-sample.js';
import { seeded } from '../support/arm-spans.js';

const NOW = 10_000_000;

function traffic(
  runId: string,
  random: () => number,
  count: number,
  spread: number,
  slowdown: number,
  timeUnixMs: number,
): Observation[] {
  return Array.from({ length: count }, () => {
    const arm = random() < 0.3 ? ('canary' as const) : ('baseline' as const);
    return {
      kind: 'span' as const,
      runId,
      arm,
      sourceKey: arm,
      timeUnixMs,
      durationNanos: Math.round(
        (arm === 'canary' ? slowdown : 1) *
          5e7 *
          Math.exp(spread * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())),
      ),
      isError: random() < 0.02,
    };
  });
}

/**
 * A run's stages after `counts` ticks of traffic (one stage more for each entry past the first), each tick's
 * traffic timed inside its own stage (stage i starts at i seconds), so that every stage holds its own.
 */
function runStages(
  runId: string,
  seed: number,
  counts: number[],
  spread: number,
  slowdown: number,
): StageArms[] {
  const accumulator = new Accumulator({
    watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 },
    clock: () => NOW,
  });
  accumulator.open(runId, { startedAtMs: 0, canaryShare: 0.3 });
  const random = seeded(seed);
  counts.forEach((count, i) => {
    if (i > 0) accumulator.declareStage(runId, { startedAtMs: i * 1000, canaryShare: 0.3 });
    accumulator.accept(traffic(runId, random, count, spread, slowdown, i * 1000 + 1));
  });
  return accumulator.read(runId, NOW).map((stage) => ({
    baseline: stage.baseline,
    canary: stage.canary,
    canaryShare: stage.canaryShare,
    splitRequests: stage.settled,
  }));
}

/** An analysis of latency quantiles (0.5, 0.9, 0.99) and mean, and error rate, with `extra` metrics between them. */
function latencyPlan(...extra: object[]) {
  return planAnalysis(
    analysisSchema.parse({
      id: 'a',
      variant: { flag: 'f' },
      baseline: 'off',
      canary: 'on',
      metrics: [
        { name: 'latency', kind: 'latency', quantiles: [0.5, 0.9, 0.99], mean: true, tolerance: 0.05 },
        ...extra,
        { name: 'errors', kind: 'error_rate', tolerance: 0.01 },
      ],
      judge: { minSamplesPerArm: 50 },
    }),
  );
}

/** Few buckets, many buckets (a wide spread) with a slower canary, several stages. */
function commonRuns(): StageArms[][] {
  return [
    runStages('small', 1, [300], 0.1, 1),
    runStages('wide', 2, [20_000], 1.5, 1.2),
    runStages('staged', 3, [2000, 500, 4000], 0.6, 1.1),
  ];
}

describe('evaluateAnalysis with reused buffers', () => {
  it('gives every run the same evaluation whichever runs, of whatever sizes, were evaluated before it', () => {
    const plan = latencyPlan();
    const runs = [...commonRuns(), runStages('narrow', 4, [5000], 0.05, 1)];
    for (const evidence of ['decisions-only', 'full'] as const) {
      const policy = { ...plan.policy, canaryShare: 0.3, evidence };
      const evaluate = (stages: StageArms[]) =>
        evaluateAnalysis(stages, plan.metrics, policy, initialSequentialState());
      const first = runs.map(evaluate);
      for (const order of [
        [1, 0, 2, 3],
        [3, 1, 0, 2, 0, 1],
        [2, 2, 3, 0, 1, 3],
      ]) {
        for (const i of order) expect(evaluate(runs[i])).toEqual(first[i]);
      }
      // At least one test counted on a stage's memo: the runs do reach the fail bound's search.
      expect(
        first.some((e) => e.metrics.some((m) => m.effect.lowerTest === 'two-sample-quantile-mixture')),
      ).toBe(true);
      // And earlier stages count too: their tests take (and give back) memos within the evaluation.
      expect(first[2].metrics.find((m) => m.quantile === 0.9)?.stagesCounted).toBe(3);
    }
  });

  it('refuses to read what an evaluation that has ended built in them', () => {
    const histogram = (scale: number) => {
      const h = new LatencyHistogram();
      for (let i = 1; i <= 400; i++) h.record(scale * 1e6 * (1 + (i % 37) / 10));
      return h;
    };
    const buffers = new EvaluationBuffers();
    buffers.begin();
    const canary = new ArmLatency(histogram(1.3), [], 0, 400, buffers);
    const baseline = new ArmLatency(histogram(1), [], 0, 400, buffers);
    const test = twoSampleQuantileEvidence(canary.ranks, baseline.ranks, 0.9, 30, 30, undefined, buffers);
    const unbuffered = new ArmLatency(histogram(1.3), [], 0, 400);
    const own = twoSampleQuantileEvidence(unbuffered.ranks, baseline.ranks, 0.9, 30, 30);
    expect(test(1.1)).toBe(own(1.1));
    const late = new ArmLatency(histogram(1), [], 0, 400, buffers);
    buffers.begin();
    expect(() => test(1.1)).toThrow(/ended/);
    expect(() => late.ranks).toThrow(/ended/);
  });

  it('hands memos given back within an evaluation out again, cleared, and keeps the ones taken before', () => {
    const buffers = new EvaluationBuffers();
    buffers.begin();
    const kept = buffers.takeMemo(4);
    kept.known[3] = 1;
    const mark = buffers.memoMark();
    const released = buffers.takeMemo(8);
    released.known.fill(1);
    buffers.releaseMemosTo(mark);
    const again = buffers.takeMemo(8);
    expect(again).toBe(released);
    expect(Array.from(again.known.subarray(0, 8))).toEqual(new Array(8).fill(0));
    expect(again).not.toBe(kept);
    expect(kept.known[3]).toBe(1);
    // A mark above what is taken frees nothing.
    buffers.releaseMemosTo(mark + 5);
    expect(buffers.takeMemo(2)).not.toBe(again);
  });
});

describe('evaluateAnalysis against the build before the buffers', () => {
  // The same evaluations as computed by 17895a0, the last build before the reused buffers, whose arms and tests
  // allocated fresh arrays and memos each time: a slot shared by two live tests within one evaluation (e.g. the
  // current stage's memos given back with an earlier stage's) would change a number and this digest.
  it('gives the same documents, byte for byte, for runs of one and several stages', () => {
    const plan = latencyPlan({ name: 'tail', kind: 'latency', quantiles: [0.75, 0.95], tolerance: 0.1 });
    const runs = [...commonRuns(), runStages('many', 5, [3000, 3000, 3000, 3000, 3000], 0.8, 1.15)];
    const documents = (['decisions-only', 'full'] as const).map((evidence) => {
      const policy = { ...plan.policy, canaryShare: 0.3, evidence };
      return runs.map((stages) => evaluateAnalysis(stages, plan.metrics, policy, initialSequentialState()));
    });
    const digest = createHash('sha256').update(JSON.stringify(documents)).digest('hex');
    expect(digest).toBe('f978c6090e6fcf9885e74025d1029825e51f68c167d9e578d1634f2506e901ab');
  });
});
