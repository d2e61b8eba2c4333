// Floods unique trace ids and shows that attribution state stays within its configured limits and the
// heap does not grow with traffic; every dropped entry is counted.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { frontendSpan, harness, metricValue, span, spans, traceId } from './fixtures.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;
const LIMITS = { maxPendingSpans: 5_000, maxCorrelationKeys: 5_000 };

describe('memory bounds', () => {
  it('evicts pending spans and correlation keys past their limits and counts each eviction', async () => {
    const { pipeline, registry } = harness(undefined, { maxPendingSpans: 3, maxCorrelationKeys: 2 });
    pipeline.acceptSpans(
      spans(
        span({ traceId: traceId(1) }),
        span({ traceId: traceId(1) }),
        span({ traceId: traceId(2) }),
        span({ traceId: traceId(3) }),
      ),
    );
    expect(pipeline.stats().pendingSpans).toBe(2);
    expect(await metricValue(registry, 'canary_judge_attribution_spans_total', { outcome: 'evicted' })).toBe(
      2,
    );
    expect(
      await metricValue(registry, 'canary_judge_attribution_evictions_total', {
        store: 'pending_spans',
        reason: 'capacity',
      }),
    ).toBe(2);
    pipeline.acceptSpans(spans(...[4, 5, 6].map((n) => frontendSpan(traceId(n), 'new-checkout-flow', 'on'))));
    expect(pipeline.stats().correlationKeys).toBe(2);
    expect(
      await metricValue(registry, 'canary_judge_attribution_evictions_total', {
        store: 'correlation_keys',
        reason: 'capacity',
      }),
    ).toBe(1);
  });

  it('keeps buffers under the limits and the heap flat while 600 000 unique traces flood in', async () => {
    const { pipeline, registry } = harness(undefined, LIMITS);
    const batch = (from: number) => {
      const list = [];
      for (let n = from; n < from + 500; n++) {
        // Half the traces only ever show a judged span (they wait), half only a flag (a key is learned).
        list.push(
          n % 2 === 0 ? span({ traceId: traceId(n) }) : frontendSpan(traceId(n), 'new-checkout-flow', 'on'),
        );
      }
      return spans(...list);
    };
    const flood = (from: number, to: number) => {
      for (let n = from; n < to; n += 500) {
        pipeline.acceptSpans(batch(n));
        const stats = pipeline.stats();
        expect(stats.pendingSpans).toBeLessThanOrEqual(LIMITS.maxPendingSpans);
        expect(stats.correlationKeys).toBeLessThanOrEqual(LIMITS.maxCorrelationKeys);
      }
    };
    flood(0, 200_000); // warm up: fill the buffers and let the heap reach its working size
    gc();
    const before = process.memoryUsage();
    flood(200_000, 600_000);
    gc();
    const after = process.memoryUsage();
    const heapGrowthMiB = (after.heapUsed - before.heapUsed) / MiB;
    const rssGrowthMiB = (after.rss - before.rss) / MiB;
    console.log(
      `memory-bound: heap growth ${heapGrowthMiB.toFixed(1)} MiB, rss growth ${rssGrowthMiB.toFixed(1)} MiB over 400k traces`,
    );
    expect(heapGrowthMiB).toBeLessThan(10);
    expect(rssGrowthMiB).toBeLessThan(64);
    expect(pipeline.stats()).toMatchObject({
      pendingSpans: LIMITS.maxPendingSpans,
      correlationKeys: LIMITS.maxCorrelationKeys,
    });
    const evicted = await metricValue(registry, 'canary_judge_attribution_spans_total', {
      outcome: 'evicted',
    });
    expect(evicted).toBe(300_000 - LIMITS.maxPendingSpans);
  });
});
