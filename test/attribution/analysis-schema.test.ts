// The analysis config schema (src/config/analysis.ts); it lives here because the attribution stage owns it.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { analysesSchema, analysisSchema, attributionLimitsSchema } from '../../src/config/analysis.js';
import { formatIssues } from '../../src/config/load.js';
import { checkoutAnalysis } from './fixtures.js';

const wrapper = z.object({ analyses: analysesSchema, attribution: attributionLimitsSchema });

function problems(input: unknown): string[] {
  const result = wrapper.safeParse(input);
  return result.success ? [] : formatIssues(result.error.issues, input);
}

describe('analysis schema', () => {
  it('parses the example from the issue and fills the defaults', () => {
    const analysis = analysisSchema.parse({
      ...checkoutAnalysis,
      correlation: { key: 'trace_id', windowMs: 10000 },
      metrics: [
        { name: 'latency', kind: 'latency' },
        { name: 'errors', kind: 'error_rate' },
      ],
    });
    expect(analysis.errors).toEqual({
      statusError: true,
      httpServer5xx: true,
      grpcStatusCodes: [2, 4, 12, 13, 14, 15],
      errorType: false,
    });
    expect(analysis.match.spanName).toBe('POST /checkout*');
  });

  it('defaults correlation to the trace id over 10 s and metrics to latency and error rate', () => {
    const analysis = analysisSchema.parse({
      id: 'a',
      variant: { attribute: 'service.version' },
      baseline: '1',
      canary: '2',
    });
    expect(analysis.correlation).toEqual({ key: 'trace_id', windowMs: 10_000 });
    expect(analysis.metrics.map((m) => m.kind)).toEqual(['latency', 'error_rate']);
    expect(analysis.match).toEqual({});
  });

  it('keeps the metric fields the judge reads and refuses a misspelt one', () => {
    const analysis = analysisSchema.parse({
      ...checkoutAnalysis,
      metrics: [{ name: 'p99', kind: 'latency', tolerance: 0.1, minSamples: 500, quantiles: [0.99] }],
    });
    expect(analysis.metrics[0]).toEqual({
      name: 'p99',
      kind: 'latency',
      tolerance: 0.1,
      minSamples: 500,
      quantiles: [0.99],
    });
    const misspelt = analysisSchema.safeParse({
      ...checkoutAnalysis,
      metrics: [{ name: 'p99', kind: 'latency', tolerence: 0.1 }],
    });
    expect(misspelt.success).toBe(false);
    expect(formatIssues(misspelt.error!.issues, {})).toEqual([
      'metrics.0.tolerence: unknown field; remove it or check its spelling (see config.example.json)',
    ]);
  });

  it('defaults the attribution limits', () => {
    expect(attributionLimitsSchema.parse({})).toEqual({
      maxPendingSpans: 100_000,
      maxCorrelationKeys: 200_000,
      maxCorrelationKeyBytes: 32 * 1024 * 1024,
      maxMetricStreams: 10_000,
      maxMetricStreamBytes: 32 * 1024 * 1024,
      metricStreamTtlMs: 600_000,
      maxVariantsPerAnalysis: 16,
      expireIntervalMs: 1_000,
    });
  });

  it('names the field of each problem', () => {
    const lines = problems({
      analyses: [
        { ...checkoutAnalysis, match: { spanKind: 'svr' }, correlation: { windowMs: -1 } },
        { ...checkoutAnalysis, variant: { flag: 'a', attribute: 'b' }, canary: 'off' },
        { ...checkoutAnalysis, metrics: [{ name: 'x', kind: 'speed' }], extra: 1 },
      ],
      attribution: { maxPendingSpans: 0 },
    });
    expect(lines).toEqual([
      expect.stringMatching(/^analyses\.0\.match\.spanKind: .*"server".*found "svr"$/),
      expect.stringMatching(/^analyses\.0\.correlation\.windowMs: .*found -1$/),
      'analyses.1.variant: set exactly one of "flag" (an OpenFeature flag key) or "attribute" (a resource or span attribute such as service.version), found an object',
      'analyses.1.canary: must differ from baseline, found "off"',
      expect.stringMatching(/^analyses\.2\.metrics\.0\.kind: .*"latency".*found "speed"$/),
      'analyses.2.extra: unknown field; remove it or check its spelling (see config.example.json)',
      expect.stringMatching(/^attribution\.maxPendingSpans: .*found 0$/),
    ]);
  });

  it('rejects a variant source with neither key, duplicate ids and a requests metric without its histogram', () => {
    const lines = problems({
      analyses: [
        { ...checkoutAnalysis, variant: {} },
        { ...checkoutAnalysis, match: { requestsMetric: 'traces.span.metrics.calls' } },
      ],
    });
    expect(lines).toContain(
      'analyses.0.variant: set exactly one of "flag" (an OpenFeature flag key) or "attribute" (a resource or span attribute such as service.version), found an object',
    );
    expect(lines).toContain(
      'analyses.1.match.requestsMetric: set match.metric too (the latency histogram whose requests this metric counts), found "traces.span.metrics.calls"',
    );
    expect(lines).toContain(
      'analyses.1.id: duplicate analysis id "checkout-new-flow", found "checkout-new-flow"',
    );
  });

  it('rejects ids that cannot be used in paths and labels', () => {
    expect(problems({ analyses: [{ ...checkoutAnalysis, id: 'bad id/1' }] })[0]).toMatch(
      /^analyses\.0\.id: expected 1-128 letters/,
    );
  });
});
