// The rules that let a metric analysis read spanmetrics points: `status.code` ERROR is an error, 5xx counts only
// on server points, `match.spanKind`/`spanName`/`attributes` filter on point attributes, and with a requests
// metric the histogram gives latencies only (requests and errors come from the sum), exemplars riding along.
import { describe, expect, it } from 'vitest';
import type { CountObservation, HistogramObservation } from '../../src/accumulate/observation.js';
import { compileErrorRule } from '../../src/attribution/error-rule.js';
import { compileAnalysis } from '../../src/attribution/rules.js';
import { analysisSchema, errorRuleSchema } from '../../src/config/analysis.js';
import { harness, point, points, resource, span, traceId } from './fixtures.js';

const defaults = compileErrorRule(errorRuleSchema.parse({}));

const spanMetricsAnalysis = {
  id: 'checkout-spanmetrics',
  match: {
    service: 'checkout',
    metric: 'traces.span.metrics.duration',
    requestsMetric: 'traces.span.metrics.calls',
    spanKind: 'server' as const,
    spanName: 'POST /checkout*',
    attributes: { 'deployment.environment': 'prod' },
  },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
};

const serverAttributes = {
  'service.name': 'checkout',
  'span.name': 'POST /checkout',
  'span.kind': 'SPAN_KIND_SERVER',
  'status.code': 'STATUS_CODE_UNSET',
};
const checkout = resource('checkout', { 'service.version': '2.0.0', 'deployment.environment': 'prod' });

describe('errors of spanmetrics points', () => {
  it('counts status.code STATUS_CODE_ERROR under the statusError rule, and only then', () => {
    expect(defaults.isErrorPoint({ ...serverAttributes, 'status.code': 'STATUS_CODE_ERROR' })).toBe(true);
    expect(defaults.isErrorPoint(serverAttributes)).toBe(false);
    const noStatus = compileErrorRule(errorRuleSchema.parse({ statusError: false }));
    expect(noStatus.isErrorPoint({ ...serverAttributes, 'status.code': 'STATUS_CODE_ERROR' })).toBe(false);
  });

  it('counts 5xx on server and kindless points, not on client points', () => {
    expect(defaults.isErrorPoint({ ...serverAttributes, 'http.response.status_code': 503 })).toBe(true);
    expect(defaults.isErrorPoint({ 'http.response.status_code': 503 })).toBe(true);
    expect(
      defaults.isErrorPoint({
        ...serverAttributes,
        'span.kind': 'SPAN_KIND_CLIENT',
        'http.response.status_code': 503,
      }),
    ).toBe(false);
  });
});

describe('matching spanmetrics points', () => {
  const rule = compileAnalysis(analysisSchema.parse(spanMetricsAnalysis));
  const duration = point({
    resource: checkout,
    metricName: 'traces.span.metrics.duration',
    attributes: serverAttributes,
  });

  it('matches both metrics by span.kind, span.name and the attributes, point or resource', () => {
    expect(rule.matchesPoint(duration)).toBe(true);
    expect(rule.matchesPoint({ ...duration, metricName: 'traces.span.metrics.calls' })).toBe(true);
    expect(rule.matchesPoint({ ...duration, metricName: 'traces.span.metrics.events' })).toBe(false);
    expect(
      rule.matchesPoint({
        ...duration,
        attributes: { ...serverAttributes, 'span.kind': 'SPAN_KIND_CLIENT' },
      }),
    ).toBe(false);
    expect(
      rule.matchesPoint({ ...duration, attributes: { ...serverAttributes, 'span.name': 'GET /cart' } }),
    ).toBe(false);
    expect(
      rule.matchesPoint({ ...duration, resource: resource('checkout', { 'service.version': '2.0.0' }) }),
    ).toBe(false);
  });

  it('filters spans by match.attributes too, span attribute before resource attribute', () => {
    const byRoute = compileAnalysis(
      analysisSchema.parse({
        id: 'route',
        match: { attributes: { 'http.route': '/checkout', 'http.response.status_code': 200 } },
        variant: { attribute: 'service.version' },
        baseline: '1',
        canary: '2',
      }),
    );
    const attributes = { 'http.route': '/checkout', 'http.response.status_code': 200 };
    expect(byRoute.matchesSpan(span({ attributes }))).toBe(true);
    expect(byRoute.matchesSpan(span({ attributes: { ...attributes, 'http.route': '/cart' } }))).toBe(false);
    expect(
      byRoute.matchesSpan(
        span({
          attributes: { 'http.response.status_code': 200 },
          resource: resource('checkout', { 'http.route': '/checkout' }),
        }),
      ),
    ).toBe(true);
  });
});

describe('a histogram beside its requests metric', () => {
  it('takes requests and errors from calls and latencies only from duration, with their exemplars', () => {
    const { pipeline, sink } = harness([spanMetricsAnalysis]);
    const errorTrace = traceId(1);
    pipeline.acceptMetrics(
      points(
        point({
          resource: checkout,
          metricName: 'traces.span.metrics.calls',
          type: 'sum',
          isMonotonic: true,
          unit: '',
          value: 7,
          count: undefined,
          explicit: undefined,
          attributes: { ...serverAttributes, 'status.code': 'STATUS_CODE_ERROR' },
          exemplarTraceIds: [errorTrace],
        }),
        point({
          resource: checkout,
          metricName: 'traces.span.metrics.duration',
          unit: 'ms',
          count: 7,
          sum: 70,
          explicit: { bounds: [5, 50], bucketCounts: [1, 6, 0] },
          attributes: { ...serverAttributes, 'status.code': 'STATUS_CODE_ERROR' },
        }),
      ),
    );
    const [calls, duration] = sink.all as [CountObservation, HistogramObservation];
    expect(calls).toMatchObject({ kind: 'count', arm: 'canary', requests: 7, errors: 7 });
    expect(calls.exemplarTraceIds).toEqual([errorTrace]);
    expect(duration).toMatchObject({ kind: 'histogram', count: 7, requests: 0, errors: 0, sumNanos: 70e6 });
  });
});
