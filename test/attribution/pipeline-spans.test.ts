import { sourceKeyOf } from '../../src/attribution/source-key.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { analysisSchema } from '../../src/config/analysis.js';
import { SpanKind, StatusCode } from '../../src/otlp/model.js';
import {
  checkoutAnalysis,
  flagEvent,
  frontendSpan,
  harness,
  logEvaluation,
  logs,
  metricValue,
  resource,
  span,
  spans,
  traceId,
} from './fixtures.js';

const FLAG = 'new-checkout-flow';

describe('variant from resource and span attributes', () => {
  const byVersion = {
    id: 'by-version',
    match: { service: 'checkout' },
    variant: { attribute: 'service.version' },
    baseline: '1.0.0',
    canary: '2.0.0',
  };

  it('takes the variant from the span resource attribute without waiting', () => {
    const { pipeline, sink } = harness([byVersion]);
    pipeline.acceptSpans(spans(span({ resource: resource('checkout', { 'service.version': '2.0.0' }) })));
    expect(sink.all).toEqual([
      {
        kind: 'span',
        runId: 'by-version',
        arm: 'canary',
        timeUnixMs: expect.any(Number),
        sourceKey: sourceKeyOf(resource('checkout', { 'service.version': '2.0.0' })),
        durationNanos: 5_000_000,
        isError: false,
        // Kept as an exemplar of errors and for the report page's trace examples.
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    ]);
  });

  it('takes an Argo Rollouts role label copied to the resource', () => {
    const byRole = {
      id: 'role',
      variant: { attribute: 'k8s.pod.label.role' },
      baseline: 'stable',
      canary: 'canary',
    };
    const { pipeline, sink } = harness([byRole]);
    pipeline.acceptSpans(spans(span({ resource: resource('checkout', { 'k8s.pod.label.role': 'stable' }) })));
    expect(sink.arms()).toEqual(['baseline']);
  });

  it('takes the variant from a span attribute and carries it to the other spans of the trace', () => {
    const byBaggage = {
      id: 'baggage',
      match: { service: 'checkout' },
      variant: { attribute: 'app.cohort' },
      baseline: 'a',
      canary: 'b',
    };
    const { pipeline, sink } = harness([byBaggage]);
    pipeline.acceptSpans(
      spans(span({ resource: resource('frontend'), attributes: { 'app.cohort': 'b' } }), span()),
    );
    expect(sink.arms()).toEqual(['canary']);
  });

  it('does not teach a trace the resource attribute of another service', () => {
    const { pipeline, sink } = harness([byVersion]);
    pipeline.acceptSpans(
      spans(
        span({ resource: resource('frontend', { 'service.version': '9.9.9' }) }),
        span({ resource: resource('checkout', { 'service.version': '1.0.0' }) }),
      ),
    );
    expect(sink.arms()).toEqual(['baseline']);
  });

  it('matches the configured numeric and boolean attribute values as text', () => {
    const byFlagBool = { id: 'bool', variant: { attribute: 'app.new' }, baseline: 'false', canary: 'true' };
    const { pipeline, sink } = harness([byFlagBool]);
    pipeline.acceptSpans(
      spans(
        span({ attributes: { 'app.new': true } }),
        span({ traceId: traceId(2), attributes: { 'app.new': false } }),
      ),
    );
    expect(sink.arms()).toEqual(['canary', 'baseline']);
  });
});

describe('OpenFeature evaluation records', () => {
  it.each([
    ['span event feature_flag.evaluation with feature_flag.result.variant', flagEvent(FLAG, 'on')],
    [
      'older span event feature_flag with feature_flag.variant',
      flagEvent(FLAG, 'on', 'feature_flag', 'feature_flag.variant'),
    ],
    [
      'span event with only feature_flag.result.value',
      flagEvent(FLAG, 'on', 'feature_flag.evaluation', 'feature_flag.result.value'),
    ],
  ])('joins a %s to the backend span of the same trace', (_name, event) => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(
      spans(span({ resource: resource('frontend'), name: 'GET /', events: [event] }), span()),
    );
    expect(sink.arms()).toEqual(['canary']);
  });

  it('joins a child span named feature_flag.evaluation (SpanHook)', () => {
    const { pipeline, sink } = harness();
    const child = span({
      name: 'feature_flag.evaluation',
      kind: SpanKind.INTERNAL,
      resource: resource('frontend'),
      attributes: { 'feature_flag.key': FLAG, 'feature_flag.variant': 'off' },
    });
    pipeline.acceptSpans(spans(child));
    pipeline.acceptSpans(spans(span()));
    expect(sink.arms()).toEqual(['baseline']);
  });

  it('joins a log-based feature_flag.evaluation event by the LogRecord trace id', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptLogs(logs(logEvaluation(traceId(1), FLAG, 'on')));
    pipeline.acceptSpans(spans(span()));
    expect(sink.arms()).toEqual(['canary']);
  });

  it('reads a boolean feature_flag.result.value as its text', () => {
    const { pipeline, sink } = harness([{ ...checkoutAnalysis, baseline: 'false', canary: 'true' }]);
    pipeline.acceptLogs(
      logs({
        ...logEvaluation(traceId(1), FLAG, ''),
        attributes: { 'feature_flag.key': FLAG, 'feature_flag.result.value': true },
      }),
    );
    pipeline.acceptSpans(spans(span()));
    expect(sink.arms()).toEqual(['canary']);
  });

  it('ignores evaluations of other flags', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(spans(frontendSpan(traceId(1), 'other-flag', 'on'), span()));
    expect(sink.all).toEqual([]);
    expect(pipeline.stats().pendingSpans).toBe(1);
  });

  it('counts evaluation records by form', async () => {
    const { pipeline, registry } = harness();
    pipeline.acceptLogs(logs(logEvaluation(traceId(1), FLAG, 'on')));
    pipeline.acceptSpans(spans(frontendSpan(traceId(2), FLAG, 'on')));
    expect(
      await metricValue(registry, 'canary_judge_attribution_flag_evaluations_total', { source: 'log' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'canary_judge_attribution_flag_evaluations_total', {
        source: 'span_event',
      }),
    ).toBe(1);
  });
});

describe('arrival order', () => {
  it('attributes a backend span that arrives after the flag record', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(spans(frontendSpan(traceId(1), FLAG, 'on')));
    pipeline.acceptSpans(spans(span()));
    expect(sink.arms()).toEqual(['canary']);
  });

  it('holds a backend span that arrives first and releases it, batched, when the variant arrives', () => {
    const { pipeline, sink, clock } = harness();
    pipeline.acceptSpans(spans(span(), span({ durationNanos: 7 })));
    expect(sink.batches).toEqual([]);
    expect(pipeline.stats().pendingSpans).toBe(2);
    clock.advance(3_000);
    pipeline.acceptLogs(logs(logEvaluation(traceId(1), FLAG, 'off')));
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0].map((o) => o.arm)).toEqual(['baseline', 'baseline']);
    expect(pipeline.stats().pendingSpans).toBe(0);
  });

  it('attributes interleaved traces each to its own variant', () => {
    const { pipeline, sink } = harness();
    const [a, b, c] = [traceId(1), traceId(2), traceId(3)];
    pipeline.acceptSpans(spans(span({ traceId: a, durationNanos: 1 }), frontendSpan(b, FLAG, 'off')));
    pipeline.acceptSpans(
      spans(span({ traceId: b, durationNanos: 2 }), span({ traceId: c, durationNanos: 3 })),
    );
    pipeline.acceptLogs(logs(logEvaluation(c, FLAG, 'on'), logEvaluation(a, FLAG, 'on')));
    const byDuration = Object.fromEntries(
      sink.all.map((o) => [o.kind === 'span' ? o.durationNanos : -1, o.arm]),
    );
    expect(byDuration).toEqual({ 1: 'canary', 2: 'baseline', 3: 'canary' });
  });

  it('emits one sink call per request holding its own and its released observations', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(spans(span({ traceId: traceId(1) })));
    pipeline.acceptSpans(
      spans(
        frontendSpan(traceId(1), FLAG, 'on'),
        frontendSpan(traceId(2), FLAG, 'on'),
        span({ traceId: traceId(2) }),
      ),
    );
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0]).toHaveLength(2);
  });
});

describe('correlation windows and conflicts', () => {
  it('counts spans whose window closes without a variant as unattributed', async () => {
    const { pipeline, sink, clock, registry } = harness();
    pipeline.acceptSpans(spans(span(), span()));
    clock.advance(9_999);
    pipeline.expire(clock.nowMs);
    expect(pipeline.stats().pendingSpans).toBe(2);
    clock.advance(1);
    pipeline.expire(clock.nowMs);
    expect(pipeline.stats().pendingSpans).toBe(0);
    pipeline.acceptLogs(logs(logEvaluation(traceId(1), FLAG, 'on')));
    expect(sink.all).toEqual([]);
    expect(
      await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome: 'unattributed' }),
    ).toBe(2);
    expect(
      await metricValue(registry, 'canary_judge_attribution_evictions_total', {
        store: 'pending_spans',
        reason: 'window_closed',
      }),
    ).toBe(2);
  });

  it('honours a per-analysis window', () => {
    const { pipeline, clock } = harness([{ ...checkoutAnalysis, correlation: { windowMs: 500 } }]);
    pipeline.acceptSpans(spans(span()));
    clock.advance(500);
    pipeline.expire();
    expect(pipeline.stats().pendingSpans).toBe(0);
  });

  it('forgets a learned variant after the window of inactivity', () => {
    const { pipeline, sink, clock } = harness();
    pipeline.acceptSpans(spans(frontendSpan(traceId(1), FLAG, 'on')));
    clock.advance(10_000);
    pipeline.acceptSpans(spans(span()));
    expect(sink.all).toEqual([]);
    expect(pipeline.stats()).toMatchObject({ pendingSpans: 1, correlationKeys: 0 });
  });

  it('counts a trace with two variants of the flag as conflicting and leaves its spans out', async () => {
    const { pipeline, sink, registry } = harness();
    pipeline.acceptSpans(spans(span()));
    pipeline.acceptSpans(
      spans(
        frontendSpan(traceId(2), FLAG, 'on'),
        frontendSpan(traceId(2), FLAG, 'off'),
        span({ traceId: traceId(2) }),
      ),
    );
    expect(sink.all).toEqual([]);
    expect(await metricValue(registry, 'canary_judge_attribution_conflicts_total')).toBe(1);
    expect(await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome: 'conflict' })).toBe(
      1,
    );
    pipeline.acceptLogs(logs(logEvaluation(traceId(2), FLAG, 'on')));
    pipeline.acceptSpans(spans(span({ traceId: traceId(2) })));
    expect(sink.all).toEqual([]);
    expect(await metricValue(registry, 'canary_judge_attribution_conflicts_total')).toBe(1);
    expect(await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome: 'conflict' })).toBe(
      2,
    );
  });

  it('releases held spans as conflicting when one span evaluated the flag to both variants', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(spans(span()));
    pipeline.acceptSpans(
      spans(
        span({
          resource: resource('frontend'),
          name: 'GET /',
          events: [flagEvent(FLAG, 'off'), flagEvent(FLAG, 'on')],
        }),
      ),
    );
    expect(sink.all).toEqual([]);
    expect(pipeline.stats().pendingSpans).toBe(0);
  });

  it('releases held spans as conflicting when one log batch shows both variants', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(spans(span()));
    pipeline.acceptLogs(logs(logEvaluation(traceId(1), FLAG, 'on'), logEvaluation(traceId(1), FLAG, 'off')));
    expect(sink.all).toEqual([]);
  });

  it('joins by a correlation attribute other than the trace id', () => {
    const bySession = { ...checkoutAnalysis, correlation: { key: 'session.id' } };
    const { pipeline, sink } = harness([bySession]);
    pipeline.acceptLogs(logs(logEvaluation('', FLAG, 'on', { 'session.id': 's-1' })));
    pipeline.acceptSpans(
      spans(
        span({ traceId: traceId(7), attributes: { 'session.id': 's-1' } }),
        span({ traceId: traceId(8), resource: resource('checkout', { 'session.id': 's-1' }) }),
        span({ traceId: traceId(9), attributes: { 'session.id': 's-2' } }),
      ),
    );
    expect(sink.arms()).toEqual(['canary', 'canary']);
    expect(pipeline.stats().pendingSpans).toBe(1);
  });

  it('counts a span without its correlation key', async () => {
    const { pipeline, sink, registry } = harness([
      { ...checkoutAnalysis, correlation: { key: 'session.id' } },
    ]);
    pipeline.acceptSpans(spans(span()));
    expect(sink.all).toEqual([]);
    expect(
      await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome: 'no_correlation_key' }),
    ).toBe(1);
  });
});

describe('matching, arms and errors', () => {
  it('judges only spans that match service, kind and span name glob', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(
      spans(
        frontendSpan(traceId(1), FLAG, 'on'),
        span({ name: 'POST /checkout/confirm' }),
        span({ name: 'GET /checkout' }),
        span({ kind: SpanKind.CLIENT }),
        span({ resource: resource('cart') }),
      ),
    );
    expect(sink.all).toHaveLength(1);
  });

  it('counts unexpected variant values as other, never as a new arm', async () => {
    const { pipeline, sink, registry } = harness();
    pipeline.acceptSpans(spans(frontendSpan(traceId(1), FLAG, 'experimental'), span()));
    expect(sink.all).toEqual([]);
    expect(await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome: 'other' })).toBe(1);
    expect(pipeline.stats().analyses[0].otherVariants).toEqual(['experimental']);
  });

  it('remembers at most maxVariantsPerAnalysis unexpected values and counts the rest', async () => {
    const { pipeline, registry } = harness([checkoutAnalysis], { maxVariantsPerAnalysis: 2 });
    for (let i = 0; i < 4; i++)
      pipeline.acceptSpans(spans(frontendSpan(traceId(i), FLAG, `v${i}`), span({ traceId: traceId(i) })));
    expect(pipeline.stats().analyses[0].otherVariants).toEqual(['v0', 'v1']);
    expect(
      await metricValue(registry, 'canary_judge_attribution_evictions_total', { store: 'variant_values' }),
    ).toBe(2);
  });

  it('applies the analysis error rule to held spans', () => {
    const { pipeline, sink } = harness();
    pipeline.acceptSpans(
      spans(
        span({ statusCode: StatusCode.ERROR }),
        span({ attributes: { 'http.response.status_code': 503 } }),
        span(),
      ),
    );
    pipeline.acceptLogs(logs(logEvaluation(traceId(1), FLAG, 'on')));
    expect(sink.all.map((o) => o.kind === 'span' && o.isError)).toEqual([true, true, false]);
  });

  it('serves several analyses from one batch', () => {
    const byVersion = {
      id: 'v',
      match: { service: 'checkout' },
      variant: { attribute: 'service.version' },
      baseline: '1',
      canary: '2',
    };
    const { pipeline, sink } = harness([checkoutAnalysis, byVersion]);
    pipeline.acceptSpans(
      spans(
        frontendSpan(traceId(1), FLAG, 'off'),
        span({ resource: resource('checkout', { 'service.version': '2' }) }),
      ),
    );
    expect(sink.all.map((o) => `${o.runId}:${o.arm}`).sort()).toEqual([
      'checkout-new-flow:baseline',
      'v:canary',
    ]);
  });

  it('routes and unroutes runs at run time, dropping their waiting spans and their series', async () => {
    const { pipeline, registry } = harness([]);
    pipeline.routeRun('checkout-new-flow', analysisSchema.parse(checkoutAnalysis));
    expect(() => pipeline.routeRun('checkout-new-flow', analysisSchema.parse(checkoutAnalysis))).toThrow(
      /already routed/,
    );
    expect(() => pipeline.routeRun('another-run', analysisSchema.parse(checkoutAnalysis))).toThrow(
      /already routes another run/,
    );
    pipeline.acceptSpans(spans(span(), frontendSpan(traceId(2), FLAG, 'x'), span({ traceId: traceId(2) })));
    expect(await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome: 'other' })).toBe(1);
    expect(pipeline.unrouteRun('checkout-new-flow')).toBe(true);
    expect(pipeline.unrouteRun('checkout-new-flow')).toBe(false);
    expect(pipeline.stats().pendingSpans).toBe(0);
    const evicted = { store: 'pending_spans', reason: 'analysis_removed' };
    expect(await metricValue(registry, 'canary_judge_attribution_evictions_total', evicted)).toBe(1);
    const series = (await registry.getSingleMetric('canary_judge_attribution_spans_total')!.get()).values;
    expect(series.filter((v) => v.labels.analysis === 'checkout-new-flow')).toEqual([]);
  });
});

describe('lifecycle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('closes windows on its own timer once started, and stops on shutdown (twice is safe)', () => {
    vi.useFakeTimers();
    const { pipeline, clock } = harness();
    pipeline.start();
    pipeline.acceptSpans(spans(span()));
    clock.advance(10_000);
    vi.advanceTimersByTime(1_000);
    expect(pipeline.stats().pendingSpans).toBe(0);
    pipeline.shutdown();
    pipeline.shutdown();
    pipeline.acceptSpans(spans(span({ traceId: traceId(2) })));
    clock.advance(10_000);
    vi.advanceTimersByTime(5_000);
    expect(pipeline.stats().pendingSpans).toBe(1);
  });
});
