import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import { indexForValue } from '../../src/accumulate/exponential-mapping.js';
import type { Observation } from '../../src/attribution/observation.js';

const base = { analysisId: 'a1', timeUnixMs: 0 } as const;

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
    const acc = new Accumulator();
    acc.accept([...spans('baseline', [1e6, 2e6, 3e6, 4e6], 2), ...spans('canary', [5e6])]);
    const { baseline, canary } = acc.read('a1');
    expect([baseline.requests, baseline.errors, baseline.latency.count]).toEqual([4, 2, 4]);
    expect([canary.requests, canary.errors, canary.latency.count]).toEqual([1, 0, 1]);
  });

  it('adds count observations to requests and errors but not to latency', () => {
    const acc = new Accumulator();
    acc.accept([{ ...base, arm: 'canary', kind: 'count', requests: 10, errors: 3 }]);
    const { canary } = acc.read('a1');
    expect([canary.requests, canary.errors, canary.latency.count]).toEqual([10, 3, 0]);
  });

  it('ingests exponential histogram points bucket for bucket', () => {
    const acc = new Accumulator();
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
    const { baseline } = acc.read('a1');
    expect([baseline.requests, baseline.errors, baseline.latency.count, baseline.latency.zeroCount]).toEqual([
      7, 1, 7, 1,
    ]);
    expect(baseline.latency.scale).toBe(3);
    expect(Math.abs(baseline.latency.quantile(0.5) - 1e6) / 1e6).toBeLessThan(0.1);
  });

  it('ingests explicit-bucket points at a point inside each bucket', () => {
    const acc = new Accumulator();
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
    const h = acc.read('a1').canary.latency;
    expect(h.count).toBe(6);
    expect(h.quantile(1 / 6)).toBeCloseTo(1e6, -4);
    expect(h.quantile(0.5)).toBeGreaterThan(1.9e6);
    expect(h.quantile(0.5)).toBeLessThan(2.1e6);
    expect(h.quantile(1)).toBeCloseTo(4e6, -5);
  });

  it('restores a snapshot and merges another instance exactly', () => {
    const a = new Accumulator();
    const b = new Accumulator();
    a.accept(spans('canary', [1e6, 2e6], 2));
    b.accept(spans('canary', [3e6], 1));
    const both = new Accumulator();
    both.accept([...spans('canary', [1e6, 2e6], 2), ...spans('canary', [3e6], 1)]);
    const restored = new Accumulator();
    restored.restore('a1', JSON.parse(JSON.stringify(a.snapshot('a1'))));
    restored.mergeSnapshot('a1', b.snapshot('a1'));
    expect(restored.snapshot('a1')).toEqual(both.snapshot('a1'));
  });

  it('read returns copies, and reset empties both arms', () => {
    const acc = new Accumulator();
    acc.accept(spans('baseline', [1e6]));
    acc.read('a1').baseline.requests = 99;
    expect(acc.read('a1').baseline.requests).toBe(1);
    acc.reset('a1');
    expect(acc.read('a1').baseline.requests).toBe(0);
    expect(acc.analysisIds()).toEqual(['a1']);
  });
});
