import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import { indexForValue } from '../../src/accumulate/exponential-mapping.js';
import type { Observation } from '../../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';

const base = { runId: 'a1', timeUnixMs: 0, sourceKey: 'pod-1' } as const;

/** An accumulator with run a1 open and no watermark hold (maxHoldMs 0), so everything received is judged. */
function opened(): Accumulator & { arms(): ReturnType<Accumulator['read']>[number] } {
  const acc = new Accumulator({
    watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 },
    clock: () => 10_000,
  });
  acc.open('a1', { startedAtMs: 0, canaryShare: null });
  return Object.assign(acc, { arms: () => acc.read('a1')[0] });
}

function spans(arm: 'baseline' | 'canary', durations: number[], errorsEvery = 0): Observation[] {
  return durations.map((d, i) => ({
    ...base,
    arm,
    kind: 'span',
    durationNanos: d,
    isError: errorsEvery > 0 && i % errorsEvery === 0,
  }));
}

describe('Accumulator', () => {
  it('counts span requests, errors and latencies per arm', () => {
    const acc = opened();
    acc.accept([...spans('baseline', [1e6, 2e6, 3e6, 4e6], 2), ...spans('canary', [5e6])]);
    const { baseline, canary } = acc.arms();
    expect([baseline.requests, baseline.errors, baseline.latency.count]).toEqual([4, 2, 4]);
    expect([canary.requests, canary.errors, canary.latency.count]).toEqual([1, 0, 1]);
  });

  it('adds count observations to requests and errors but not to latency', () => {
    const acc = opened();
    acc.accept([{ ...base, arm: 'canary', kind: 'count', requests: 10, errors: 3 }]);
    const { canary } = acc.arms();
    expect([canary.requests, canary.errors, canary.latency.count]).toEqual([10, 3, 0]);
  });

  it('ingests exponential points at the accumulator scale bucket for bucket, with their exact sum', () => {
    const acc = opened();
    const idx = indexForValue(1e6, 6);
    acc.accept([
      {
        ...base,
        arm: 'baseline',
        kind: 'histogram',
        count: 7,
        errors: 1,
        sumNanos: 6.1e6,
        exponential: {
          scale: 6,
          zeroCount: 1,
          zeroThreshold: 0,
          positive: { offset: idx, bucketCounts: [4, 2] },
          negative: { offset: 0, bucketCounts: [] },
        },
      },
    ]);
    const { baseline } = acc.arms();
    expect([baseline.requests, baseline.errors, baseline.latency.count, baseline.latency.zeroCount]).toEqual([
      7, 1, 7, 1,
    ]);
    expect([baseline.coarseLatency.count, baseline.latency.scale, baseline.latencySumNanos]).toEqual([
      0, 6, 6.1e6,
    ]);
    expect(Math.abs(baseline.latency.quantile(0.5) - 1e6) / 1e6).toBeLessThan(0.01);
  });

  it('keeps coarser exponential buckets interval-censored, at their edges, without downscaling the spans', () => {
    const acc = opened();
    const idx = indexForValue(1e6, 1);
    acc.accept([
      ...spans('baseline', [3e6]),
      {
        ...base,
        arm: 'baseline',
        kind: 'histogram',
        count: 6,
        errors: 0,
        exponential: {
          scale: 1,
          zeroCount: 0,
          zeroThreshold: 0,
          positive: { offset: idx, bucketCounts: [4, 2] },
          negative: { offset: 0, bucketCounts: [] },
        },
      },
    ]);
    const { baseline } = acc.arms();
    expect(baseline.latency.scale).toBe(6);
    expect(baseline.latencyCount).toBe(7);
    const edge = (i: number): number => 2 ** (i / 2);
    expect(baseline.coarseLatency.intervals()).toEqual([
      { lowerNanos: edge(idx), upperNanos: edge(idx + 1), count: 4 },
      { lowerNanos: edge(idx + 1), upperNanos: edge(idx + 2), count: 2 },
    ]);
    // The point had no sum: its six values cannot enter the mean comparison; the span's can.
    expect([baseline.latencySumNanos, baseline.latencyValuesWithoutSum]).toEqual([3e6, 6]);
  });

  it('keeps explicit buckets interval-censored: first bucket from 0, overflow closed only by the point max', () => {
    const acc = opened();
    const point = (arm: 'baseline' | 'canary', maxNanos?: number): Observation => ({
      ...base,
      arm,
      kind: 'histogram',
      count: 6,
      errors: 0,
      sumNanos: 3.3e7,
      maxNanos,
      explicit: { bounds: [1e6, 4e6], bucketCounts: [1, 2, 3] },
    });
    acc.accept([point('canary'), point('baseline', 2e7)]);
    const { canary, baseline } = acc.arms();
    expect(canary.latency.count).toBe(0);
    expect(canary.coarseLatency.intervals()).toEqual([
      { lowerNanos: 0, upperNanos: 1e6, count: 1 },
      { lowerNanos: 1e6, upperNanos: 4e6, count: 2 },
      { lowerNanos: 4e6, upperNanos: Infinity, count: 3 },
    ]);
    expect(baseline.coarseLatency.intervals()[2]).toEqual({ lowerNanos: 4e6, upperNanos: 2e7, count: 3 });
    expect([canary.latencyCount, canary.latencySumNanos, canary.latencyValuesWithoutSum]).toEqual([
      6, 3.3e7, 0,
    ]);
  });

  it('restores a snapshot and merges another instance exactly', () => {
    const a = opened();
    const b = opened();
    a.accept(spans('canary', [1e6, 2e6], 2));
    b.accept(spans('canary', [3e6], 1));
    const both = opened();
    both.accept([...spans('canary', [1e6, 2e6], 2), ...spans('canary', [3e6], 1)]);
    const restored = opened();
    restored.restore('a1', JSON.parse(JSON.stringify(a.snapshot('a1'))));
    restored.evidence('a1')!.mergeStages(b.read('a1'));
    expect(restored.read('a1')).toEqual(both.read('a1'));
  });

  it('read returns copies; close forgets the run and later observations for it are counted, not kept', () => {
    const acc = opened();
    acc.accept(spans('baseline', [1e6]));
    acc.arms().baseline.requests = 99;
    expect(acc.arms().baseline.requests).toBe(1);
    expect(acc.runIds()).toEqual(['a1']);
    acc.close('a1');
    acc.accept(spans('baseline', [1e6]));
    expect([acc.isOpen('a1'), acc.droppedForClosedRuns]).toEqual([false, 1]);
  });

  it('records the spans of a request into the run open now, when runs alternate or close and open mid-request', () => {
    const acc = opened();
    acc.open('b1', { startedAtMs: 0, canaryShare: null });
    const record = (runId: string, arm: 'baseline' | 'canary', trace: string) =>
      recorder.recordSpan(runId, arm, 0, 'pod-1', 1e6, true, trace);
    const recorder = acc.beginSpans();
    record('a1', 'canary', 't1');
    record('b1', 'baseline', 't2');
    record('a1', 'baseline', 't3');
    acc.close('a1');
    record('a1', 'canary', 't4'); // closed: counted, not kept
    acc.open('a1', { startedAtMs: 0, canaryShare: null });
    record('a1', 'canary', 't5'); // the run opened again starts from empty
    record('b1', 'canary', 't6');
    acc.restore('b1', acc.snapshot('a1')); // b1 now holds a1's state
    record('b1', 'canary', 't7');
    recorder.end();
    const a = acc.read('a1')[0];
    const b = acc.read('b1')[0];
    expect([a.baseline.requests, a.canary.requests, b.baseline.requests, b.canary.requests]).toEqual([
      0, 1, 0, 2,
    ]);
    expect(acc.droppedForClosedRuns).toBe(1);
    expect(acc.traceExamples('a1')!.failing.map((e) => e.traceId)).toEqual(['t5']);
    expect(acc.traceExamples('b1')!.failing.map((e) => e.traceId)).toEqual(['t7', 't5']);
  });
});
