import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AnalysisState } from '../../src/attribution/analysis-state.js';
import { ATTRIBUTION_OUTCOMES, createAttributionMetrics } from '../../src/attribution/metrics.js';
import { compileAnalysis } from '../../src/attribution/rules.js';
import { analysisSchema } from '../../src/config/analysis.js';
import { checkoutAnalysis, metricValue } from './fixtures.js';

function state(registry: Registry): AnalysisState {
  const metrics = createAttributionMetrics(registry, () => ({
    pendingSpans: 0,
    correlationKeys: 0,
    metricStreams: 0,
  }));
  const rule = compileAnalysis(analysisSchema.parse(checkoutAnalysis));
  return new AnalysisState('run-1', rule, { pendingSpans: 0, knownKeys: 0 }, 16, metrics);
}

describe('AnalysisState tallies', () => {
  it('flushes every outcome of spans and of points under its own label, then starts again from zero', async () => {
    const registry = new Registry();
    const analysis = state(registry);
    // Outcome i is counted i + 1 times as spans (half of them in one call) and 10 * (i + 1) as points.
    ATTRIBUTION_OUTCOMES.forEach((outcome, i) => {
      for (let k = 0; k <= i; k++) analysis.count('spans', outcome);
      analysis.count('spans', outcome, i + 1);
      analysis.count('spans', outcome, 0);
      analysis.count('points', outcome, 10 * (i + 1));
    });
    analysis.flush();
    analysis.flush(); // nothing tallied since: adds nothing
    analysis.count('spans', 'canary');
    analysis.flush();
    for (const [i, outcome] of ATTRIBUTION_OUTCOMES.entries()) {
      const spans = 2 * (i + 1) + (outcome === 'canary' ? 1 : 0);
      expect(await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome })).toBe(spans);
      expect(await metricValue(registry, 'canary_judge_attribution_points_total', { outcome })).toBe(
        10 * (i + 1),
      );
    }
  });

  it('exports a series only for outcomes that were counted', async () => {
    const registry = new Registry();
    const analysis = state(registry);
    analysis.count('spans', 'canary', 3);
    analysis.count('spans', 'other', 0);
    analysis.flush();
    const series = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(await series('canary_judge_attribution_spans_total')).toEqual([['canary', 3]]);
    expect(await series('canary_judge_attribution_points_total')).toEqual([]);
  });
});
