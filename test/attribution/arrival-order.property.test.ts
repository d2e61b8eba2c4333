// Property: whatever order and batching a trace's spans and flag records arrive in, every judged span ends
// in exactly one outcome, and a trace whose variant arrives within the window gets every span attributed to
// that variant (fast-check shrinks any counter-example to the smallest arrival order that breaks it).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodedFlagEvaluation, DecodedSpan } from '../../src/otlp/model.js';
import { frontendSpan, harness, logEvaluation, logs, metricValue, span, spans, traceId } from './fixtures.js';

const FLAG = 'new-checkout-flow';

interface TraceSpec {
  variant: 'on' | 'off' | 'none';
  backendSpans: number;
  viaLog: boolean;
}

type Item = { kind: 'span'; span: DecodedSpan } | { kind: 'log'; record: DecodedFlagEvaluation };

const traceSpec = fc.record({
  variant: fc.constantFrom<TraceSpec['variant']>('on', 'off', 'none'),
  backendSpans: fc.integer({ min: 1, max: 3 }),
  viaLog: fc.boolean(),
});

function items(traces: TraceSpec[]): Item[] {
  const list: Item[] = [];
  traces.forEach((trace, t) => {
    const id = traceId(t + 1);
    for (let s = 0; s < trace.backendSpans; s++)
      list.push({ kind: 'span', span: span({ traceId: id, durationNanos: t + 1 }) });
    if (trace.variant === 'none') return;
    if (trace.viaLog) list.push({ kind: 'log', record: logEvaluation(id, FLAG, trace.variant) });
    else list.push({ kind: 'span', span: frontendSpan(id, FLAG, trace.variant) });
  });
  return list;
}

describe('arrival order', () => {
  it('attributes every span of a trace to its variant, or counts it, in any order and batching', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(traceSpec, { minLength: 1, maxLength: 12 }),
        fc.infiniteStream(fc.nat({ max: 100 })),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 40 }),
        async (traces, orderKeys, batchSizes) => {
          const { pipeline, sink, clock, registry } = harness();
          const all = items(traces);
          const keys = [...orderKeys.take(all.length)];
          const shuffled = all
            .map((item, i) => ({ item, key: keys[i] }))
            .sort((a, b) => a.key - b.key)
            .map((x) => x.item);
          for (let at = 0, b = 0; at < shuffled.length; b++) {
            const batch = shuffled.slice(at, at + batchSizes[b % batchSizes.length]);
            at += batch.length;
            const batchSpans = batch.flatMap((x) => (x.kind === 'span' ? [x.span] : []));
            const batchLogs = batch.flatMap((x) => (x.kind === 'log' ? [x.record] : []));
            if (batchSpans.length > 0) pipeline.acceptSpans(spans(...batchSpans));
            if (batchLogs.length > 0) pipeline.acceptLogs(logs(...batchLogs));
            clock.advance(100); // all arrivals stay well inside the 10 s window
          }
          clock.advance(10_000);
          pipeline.expire();

          const judged = traces.reduce((n, t) => n + t.backendSpans, 0);
          let counted = 0;
          for (const outcome of [
            'baseline',
            'canary',
            'other',
            'unattributed',
            'conflict',
            'evicted',
            'no_correlation_key',
          ]) {
            counted += await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome });
          }
          expect(counted).toBe(judged);
          expect(pipeline.stats().pendingSpans).toBe(0);
          traces.forEach((trace, t) => {
            const arms = sink.all
              .filter((o) => o.kind === 'span' && o.durationNanos === t + 1)
              .map((o) => o.arm);
            const want =
              trace.variant === 'none'
                ? []
                : Array(trace.backendSpans).fill(trace.variant === 'on' ? 'canary' : 'baseline');
            expect(arms).toEqual(want);
          });
        },
      ),
      { numRuns: 200, seed: 6 },
    );
  });
});
