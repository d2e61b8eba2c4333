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

  it('ingests exponential histogram points bucket for bucket', () => {
    const acc = opened();
    const idx = indexForValue(1e6, 3);
    acc.accept([
      {
        ...base,
        arm: 'baseline',
        kind: 'histogram',
        count: 7,
        errors: 1,
        exponential: {
          scale: 3,
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
    expect(baseline.latency.scale).toBe(3);
    expect(Math.abs(baseline.latency.quantile(0.5) - 1e6) / 1e6).toBeLessThan(0.1);
  });

  it('ingests explicit-bucket points at a point inside each bucket', () => {
    const acc = opened();
    acc.accept([
      {
        ...base,
        arm: 'canary',
        kind: 'histogram',
        count: 6,
        errors: 0,
        explicit: { bounds: [1e6, 4e6], bucketCounts: [1, 2, 3] },
      },
    ]);
    const h = acc.arms().canary.latency;
    expect(h.count).toBe(6);
    expect(h.quantile(1 / 6)).toBeCloseTo(1e6, -4);
    expect(h.quantile(0.5)).toBeGreaterThan(1.9e6);
    expect(h.quantile(0.5)).toBeLessThan(2.1e6);
    expect(h.quantile(1)).toBeCloseTo(4e6, -5);
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
});
