// The path the judge takes each tick: observations into the Accumulator, read both arms, evaluate with the
// carried state, store the state as JSON, evaluate again later.
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { Observation } from '../../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';
import { DEFAULT_METRICS, DEFAULT_POLICY, initialSequentialState } from '../../src/stats/analysis-policy.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';
import { Random } from '../../bench/sim/random.js';

function traffic(random: Random, n: number, canaryErrorRate: number): Observation[] {
  const out: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const arm = random.uniform() < 0.1 ? 'canary' : 'baseline';
    const errorRate = arm === 'canary' ? canaryErrorRate : 0.01;
    out.push({
      runId: 'checkout',
      arm,
      sourceKey: `${arm}-pod`,
      timeUnixMs: i,
      kind: 'span',
      durationNanos: 40e6 * Math.exp(0.4 * (random.uniform() + random.uniform() - 1)),
      isError: random.uniform() < errorRate,
    });
  }
  return out;
}

describe('accumulator to decision', () => {
  it('fails a canary with 5x the error rate as soon as its block variance is trusted, with JSON-carried state and full evidence', () => {
    const random = new Random(42);
    // No watermark hold (maxHoldMs 0): each tick judges what arrived.
    const acc = new Accumulator({
      watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 },
      clock: () => 1e9,
    });
    acc.open('checkout', { startedAtMs: 0, canaryShare: 0.1 });
    let state = initialSequentialState();
    let decision = 'running';
    let ticks = 0;
    while (decision === 'running' && ticks < 20) {
      acc.accept(traffic(random, 2500, 0.05));
      const r = evaluateAnalysis(acc.read('checkout'), DEFAULT_METRICS, DEFAULT_POLICY, state);
      state = JSON.parse(JSON.stringify(r.state));
      decision = r.decision;
      ticks++;
      if (decision === 'fail') {
        expect(r.metrics[0].decision).toBe('fail');
        expect(r.arms.canary.quantiles[0].lowerNanos).toBeLessThanOrEqual(
          r.arms.canary.quantiles[0].estimateNanos,
        );
        expect(r.metrics[1].fixedHorizon.test).toBe('mann-whitney-u');
        expect(Number.isFinite(r.metrics[1].fixedHorizon.shiftNanos!.estimate)).toBe(true);
      }
    }
    expect(decision).toBe('fail');
    // The error rate's variance comes from per-tick blocks: it waits for MIN_ERROR_BLOCKS ticks, then decides.
    expect(ticks).toBe(MIN_ERROR_BLOCKS);
  });
});
