// Which metric specs an analysis plans: the latency mean joins the quantiles by default when the analysis
// judges metric points (their buckets are usually too coarse for quantiles), and on request for spans.
import { describe, expect, it } from 'vitest';
import { analysisSchema } from '../../src/config/analysis.js';
import { planAnalysis } from '../../src/judge/analysis-plan.js';

const base = { id: 'checkout', variant: { attribute: 'service.version' }, baseline: '1', canary: '2' };

describe('planAnalysis: latency mean', () => {
  it('adds a mean metric for a metric-point analysis, none for spans unless asked', () => {
    const points = planAnalysis(
      analysisSchema.parse({ ...base, match: { metric: 'http.server.request.duration' } }),
    );
    expect(points.metrics.map((m) => m.id)).toEqual([
      'latency_p50',
      'latency_p95',
      'latency_p99',
      'latency_mean',
      'errors',
    ]);
    expect(points.metrics[3]).toEqual({
      id: 'latency_mean',
      kind: 'latency_mean',
      tolerance: 0.1,
      minSamples: undefined,
    });
    const spans = planAnalysis(analysisSchema.parse(base));
    expect(spans.metrics.map((m) => m.kind)).not.toContain('latency_mean');
    const meanOnly = planAnalysis(
      analysisSchema.parse({
        ...base,
        metrics: [{ name: 'latency', kind: 'latency', quantiles: [], mean: true, tolerance: 0.2 }],
      }),
    );
    expect(meanOnly.metrics).toEqual([
      { id: 'latency_mean', kind: 'latency_mean', tolerance: 0.2, minSamples: undefined },
    ]);
  });
});
