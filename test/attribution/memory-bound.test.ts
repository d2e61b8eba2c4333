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

describe('byte bounds (issue 9, case 7)', () => {
  const sessionAnalysis = {
    id: 'sessions',
    match: { service: 'checkout' },
    variant: { flag: 'new-checkout-flow' },
    baseline: 'off',
    canary: 'on',
    correlation: { key: 'session.id', windowMs: 600_000 },
  };
  /** Half the sessions only wait with a judged span, half only teach a variant. */
  const sessionBatch = (from: number, count: number, session: (n: number) => string) => {
    const list = [];
    for (let n = from; n < from + count; n++) {
      const attributes = { 'session.id': session(n) };
      list.push(
        n % 2 === 0
          ? span({ traceId: traceId(n), attributes })
          : { ...frontendSpan(traceId(n), 'new-checkout-flow', 'on'), attributes },
      );
    }
    return spans(...list);
  };

  it('keeps 5,000 session keys of 20 KB as digests: the heap grows by kilobytes per key, not 20 KB', () => {
    const { pipeline } = harness([sessionAnalysis]);
    const padding = 's'.repeat(20_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let n = 0; n < 5_000; n += 500) pipeline.acceptSpans(sessionBatch(n, 500, (i) => `${i}-${padding}`));
    gc();
    const growthMiB = (process.memoryUsage().heapUsed - before) / MiB;
    expect(pipeline.stats().correlationKeys + pipeline.stats().pendingSpans).toBe(5_000);
    // 5,000 keys of 20 KB held as text would be ~100 MB.
    expect(growthMiB).toBeLessThan(25);
  });

  it('forgets the oldest keys past the key byte budget and counts each', async () => {
    const { pipeline, registry } = harness([sessionAnalysis], { maxCorrelationKeyBytes: 64 * 1024 });
    for (let n = 0; n < 4_000; n += 500)
      pipeline.acceptSpans(sessionBatch(n, 500, (i) => `${String(i).padStart(6, '0')}-${'k'.repeat(100)}`));
    // One entry is about 2 * 107 + 120 bytes of the 64 KiB budget.
    const held = pipeline.stats().correlationKeys + pipeline.stats().pendingSpans;
    expect(held).toBeLessThanOrEqual(Math.ceil((64 * 1024) / 334) + 1);
    expect(held).toBeGreaterThan(100);
    const evicted =
      (await metricValue(registry, 'canary_judge_attribution_evictions_total', {
        store: 'correlation_keys',
        reason: 'capacity',
      })) +
      (await metricValue(registry, 'canary_judge_attribution_evictions_total', {
        store: 'pending_spans',
        reason: 'capacity',
      }));
    expect(evicted).toBe(4_000 - held);
  });
});
