// The routing index (src/attribution/routing-index.ts) only skips analyses that cannot concern a span:
// every analysis attributes exactly what it attributes when it is routed alone, whatever else is routed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAnalysis } from '../../src/attribution/rules.js';
import { analysisSchema, type AnalysisInput } from '../../src/config/analysis.js';
import { SpanKind, type DecodedSpan } from '../../src/otlp/model.js';
import { flagEvent, harness, resource, span, spans, traceId } from './fixtures.js';

const seed = Number(process.env.FUZZ_SEED ?? 20261129);
const SERVICES = ['checkout', 'cart', 'frontend'];
const KIND_NAMES = ['server', 'client', 'internal'] as const;
const KINDS = [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL, SpanKind.UNSPECIFIED];
const FLAGS = ['flag-a', 'flag-b'];

const analysisCase = fc.record({
  service: fc.option(fc.constantFrom(...SERVICES), { nil: undefined }),
  spanKind: fc.option(fc.constantFrom(...KIND_NAMES), { nil: undefined }),
  variant: fc.oneof(
    fc.constantFrom(...FLAGS).map((flag) => ({ flag })),
    fc.constant({ attribute: 'app.variant' }),
  ),
});

const spanCase = fc.record({
  trace: fc.integer({ min: 1, max: 6 }),
  service: fc.constantFrom(...SERVICES),
  kind: fc.constantFrom(...KINDS),
  flag: fc.option(fc.record({ key: fc.constantFrom(...FLAGS), variant: fc.constantFrom('on', 'off') }), {
    nil: undefined,
  }),
  attribute: fc.option(fc.constantFrom('on', 'off', 'other'), { nil: undefined }),
  status: fc.constantFrom(200, 500),
});

type SpanCase = typeof spanCase extends fc.Arbitrary<infer T> ? T : never;

function toSpan(c: SpanCase): DecodedSpan {
  return span({
    traceId: traceId(c.trace),
    kind: c.kind,
    resource: resource(c.service),
    events: c.flag ? [flagEvent(c.flag.key, c.flag.variant)] : [],
    attributes: {
      'http.response.status_code': c.status,
      ...(c.attribute === undefined ? {} : { 'app.variant': c.attribute }),
    },
  });
}

/**
 * Each analysis's observations, sorted, after the batches went through a pipeline routing `analyses`, and
 * how many spans each counted under any outcome (every span it judged, attributed or not).
 */
async function attributed(
  analyses: AnalysisInput[],
  batches: DecodedSpan[][],
): Promise<{ observations: Map<string, string[]>; counted: Map<string, number> }> {
  const { pipeline, sink, registry } = harness(analyses);
  for (const batch of batches) pipeline.acceptSpans(spans(...batch));
  pipeline.expire(Number.MAX_SAFE_INTEGER);
  const observations = new Map<string, string[]>(analyses.map((a) => [a.id, []]));
  for (const observation of sink.all) observations.get(observation.runId)!.push(JSON.stringify(observation));
  for (const list of observations.values()) list.sort();
  const counted = new Map<string, number>();
  const { values } = await registry.getSingleMetric('canary_judge_attribution_spans_total')!.get();
  for (const { labels, value } of values) {
    const id = String(labels.analysis);
    counted.set(id, (counted.get(id) ?? 0) + value);
  }
  return { observations, counted };
}

describe('routing index', () => {
  it('attributes to each analysis what it attributes when routed alone (300 random cases)', async () => {
    let judged = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(analysisCase, { minLength: 1, maxLength: 12 }),
        fc.array(fc.array(spanCase, { minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 3 }),
        async (cases, spanBatches) => {
          const analyses: AnalysisInput[] = cases.map((c, i) => ({
            id: `analysis-${i}`,
            match: {
              ...(c.service === undefined ? {} : { service: c.service }),
              ...(c.spanKind === undefined ? {} : { spanKind: c.spanKind }),
            },
            variant: c.variant,
            baseline: 'off',
            canary: 'on',
          }));
          const batches = spanBatches.map((batch) => batch.map(toSpan));
          const together = await attributed(analyses, batches);
          for (const analysis of analyses) {
            const alone = await attributed([analysis], batches);
            expect(together.observations.get(analysis.id)).toEqual(alone.observations.get(analysis.id));
            // An oracle without the index: every span the compiled rule matches is judged, counted once.
            const rule = compileAnalysis(analysisSchema.parse(analysis));
            const matching = batches.flat().filter((s) => rule.matchesSpan(s)).length;
            expect(together.counted.get(analysis.id) ?? 0).toBe(matching);
            judged += matching;
          }
        },
      ),
      { numRuns: 300, seed },
    );
    // The cases attribute something (the equality above is not between empty lists only).
    expect(judged).toBeGreaterThan(1000);
  });

  it('judges a span with every analysis of its service and kind, and with those for any service or kind', () => {
    const analyses: AnalysisInput[] = [
      {
        id: 'exact',
        match: { service: 'checkout', spanKind: 'server' },
        variant: { flag: 'f' },
        baseline: 'off',
        canary: 'on',
      },
      {
        id: 'any-kind',
        match: { service: 'checkout' },
        variant: { flag: 'f' },
        baseline: 'off',
        canary: 'on',
      },
      {
        id: 'any-service',
        match: { spanKind: 'server' },
        variant: { flag: 'f' },
        baseline: 'off',
        canary: 'on',
      },
      {
        id: 'other-service',
        match: { service: 'cart' },
        variant: { flag: 'f' },
        baseline: 'off',
        canary: 'on',
      },
      {
        id: 'other-kind',
        match: { service: 'checkout', spanKind: 'client' },
        variant: { flag: 'f' },
        baseline: 'off',
        canary: 'on',
      },
    ];
    const { pipeline, sink } = harness(analyses);
    pipeline.acceptSpans(spans(span({ events: [flagEvent('f', 'on')] })));
    expect(sink.all.map((o) => o.runId).sort()).toEqual(['any-kind', 'any-service', 'exact']);
    // Unrouting rebuilds the index.
    pipeline.unrouteRun('exact');
    pipeline.acceptSpans(spans(span({ traceId: traceId(2), events: [flagEvent('f', 'off')] })));
    expect(sink.batches[1].map((o) => o.runId).sort()).toEqual(['any-kind', 'any-service']);
  });
});
