// Stored run snapshots are validated before they are restored (issue 9, case 2: the poisoned state was saved
// and froze the judge again after every restart). A valid snapshot round-trips; each kind of damage is a
// SnapshotError naming the field.
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { RunEvidenceSnapshot } from '../../src/accumulate/run-evidence.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';
import { SnapshotError, parseStoredSnapshot } from '../../src/accumulate/snapshot-validation.js';
import { initialSequentialState, type AnalysisSequentialState } from '../../src/stats/analysis-policy.js';

const STAGE = { startedAtMs: 1_000, canaryShare: 0.1 };
const WATERMARK = { ...DEFAULT_WATERMARK_SETTINGS, lagMs: 0 };

interface Stored {
  evidence: RunEvidenceSnapshot;
  carried: AnalysisSequentialState;
}

function storedState(): Stored {
  const accumulator = new Accumulator({ clock: () => 100_000, watermark: WATERMARK });
  accumulator.open('r', STAGE);
  const base = { runId: 'r', sourceKey: 's', timeUnixMs: 2_000 };
  accumulator.accept([
    { kind: 'span', ...base, arm: 'baseline', durationNanos: 2e6, isError: false },
    {
      kind: 'span',
      ...base,
      arm: 'canary',
      durationNanos: 3e6,
      isError: true,
      traceId: '0af7651916cd43dd8448eb211c80319c',
    },
    {
      kind: 'histogram',
      ...base,
      arm: 'canary',
      explicit: { bounds: [5e6, 1e7], bucketCounts: [1, 2, 0] },
      count: 3,
      errors: 0,
      sumNanos: 2.2e7,
    },
  ]);
  // Later spans from both arms move the watermark past the first ones, which land in the stage; these stay held.
  const later = { runId: 'r', sourceKey: 's', timeUnixMs: 9_000, durationNanos: 1e6, isError: false };
  accumulator.accept([
    { kind: 'span', ...later, arm: 'baseline' },
    { kind: 'span', ...later, arm: 'canary' },
  ]);
  // State forwarded by another instance of a fleet (src/fleet/): a count and an exponential histogram.
  const forwarded = { runId: 'r', forwarderId: 'pod-1', startTimeMs: 1_000, timeMs: 5_000, stage: 1 };
  accumulator.acceptForwarded(
    [
      { ...forwarded, arm: 'canary', value: { field: 'requests', value: 5 } },
      {
        ...forwarded,
        arm: 'canary',
        value: {
          field: 'latency',
          latency: {
            buckets: {
              scale: 6,
              zeroCount: 0,
              zeroThreshold: 0,
              positive: { offset: 1300, bucketCounts: [2, 3] },
              negative: { offset: 0, bucketCounts: [] },
            },
            sumNanos: 1e7,
          },
        },
      },
    ],
    () => undefined,
  );
  accumulator.read('r', 10_000);
  const carried = initialSequentialState();
  carried.stages.push({
    errorBlocks: {
      baseline: {
        requests: 1,
        errors: 0,
        blocks: 1,
        sumRequestsSquared: 1,
        sumErrorsSquared: 0,
        sumRequestsErrors: 0,
      },
      canary: {
        requests: 4,
        errors: 1,
        blocks: 1,
        sumRequestsSquared: 16,
        sumErrorsSquared: 1,
        sumRequestsErrors: 4,
      },
    },
  });
  return { evidence: accumulator.snapshot('r'), carried };
}

function damaged(edit: (state: Stored) => void): string {
  const state = storedState();
  edit(state);
  return JSON.stringify(state);
}

describe('parseStoredSnapshot', () => {
  it('accepts what the run book stores and restores it exactly', () => {
    const stored = storedState();
    expect(stored.evidence.stages[0].canary.requests).toBe(4);
    expect(stored.evidence.stages[0].canary.coarseLatency?.intervals.length).toBeGreaterThan(0);
    expect(stored.evidence.held.length).toBe(1);
    expect(stored.evidence.stages[0].canary.exemplars?.errors).toEqual(['0af7651916cd43dd8448eb211c80319c']);
    expect(stored.evidence.forwarded?.sources).toHaveLength(1);
    expect(stored.evidence.traceExamples?.failing[0].traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    const parsed = parseStoredSnapshot(JSON.stringify(stored));
    expect(parsed).toEqual(JSON.parse(JSON.stringify(stored)));
    const accumulator = new Accumulator({ clock: () => 100_000, watermark: WATERMARK });
    accumulator.restore('r', parsed.evidence);
    expect(accumulator.snapshot('r')).toEqual(stored.evidence);
  });

  it('restores the pass bound’s running minimum and the fail bound’s warm start, and drops a bad one', () => {
    const json = damaged((s) => {
      s.carried.metrics.p95 = { worsePValue: 0.5, withinPValue: 0.2, upper: 1.25, lower: 0.97 };
      s.carried.metrics.p99 = { worsePValue: 0.5, withinPValue: 0.2, upper: null, lower: 1.5 };
      s.carried.metrics.err = { worsePValue: 1, withinPValue: 1, upper: -0.004 };
      s.carried.metrics.bad = {
        worsePValue: 1,
        withinPValue: 1,
        upper: 'x' as unknown as number,
        lower: -1,
      };
    });
    expect(parseStoredSnapshot(json).carried.metrics).toEqual({
      p95: { worsePValue: 0.5, withinPValue: 0.2, upper: 1.25, lower: 0.97 },
      p99: { worsePValue: 0.5, withinPValue: 0.2, upper: null, lower: 1.5 },
      err: { worsePValue: 1, withinPValue: 1, upper: -0.004 },
      bad: { worsePValue: 1, withinPValue: 1 },
    });
  });

  it('reads a p-value stored as null (NaN) as 1', () => {
    const json = damaged((s) => {
      s.carried.metrics.m = { worsePValue: null as unknown as number, withinPValue: 0.5 };
    });
    expect(parseStoredSnapshot(json).carried.metrics.m).toEqual({ worsePValue: 1, withinPValue: 0.5 });
  });

  it('drops a damaged memo (a cache) instead of quarantining the run', () => {
    const json = damaged((s) => {
      s.carried.stages[0].memo = { fingerprint: 'f', logEvidence: { m: null as unknown as number } };
    });
    expect(parseStoredSnapshot(json).carried.stages[0].memo).toBeUndefined();
  });

  const cases: Array<[string, string, (s: Stored) => void]> = [
    [
      'a bucket at the top of the double range (what +Inf bounds used to store)',
      'evidence.stages[0].canary.latency.offset',
      (s) => (s.evidence.stages[0].canary.latency.offset = 65_535),
    ],
    [
      'a count past 2^53',
      'evidence.stages[0].baseline.latency.counts[0]',
      (s) => (s.evidence.stages[0].baseline.latency.counts[0] = 2 ** 60),
    ],
    [
      'a negative request count',
      'evidence.stages[0].baseline.requests',
      (s) => (s.evidence.stages[0].baseline.requests = -1),
    ],
    [
      'more errors than requests',
      'evidence.stages[0].canary.errors',
      (s) => (s.evidence.stages[0].canary.errors = 5),
    ],
    [
      'more buckets than maxBuckets',
      'evidence.stages[0].canary.latency.counts',
      (s) => (s.evidence.stages[0].canary.latency.counts = new Array(5000).fill(1)),
    ],
    [
      'a scale outside [-10, 20]',
      'evidence.stages[0].canary.latency.scale',
      (s) => (s.evidence.stages[0].canary.latency.scale = 64),
    ],
    [
      'a coarse interval past 2^53 ns (what a 1e300 s bound would store)',
      'evidence.stages[0].canary.coarseLatency.intervals[0][1]',
      (s) => {
        const interval = s.evidence.stages[0].canary.coarseLatency?.intervals[0];
        if (interval) interval[1] = 1e300;
      },
    ],
    ['a canary share of 2', 'evidence.stages[0].canaryShare', (s) => (s.evidence.stages[0].canaryShare = 2)],
    ['a run without stages', 'evidence.stages', (s) => (s.evidence.stages = [])],
    [
      'an exemplar that is not a trace id',
      'evidence.stages[0].canary.exemplars.errors[0]',
      (s) => {
        const exemplars = s.evidence.stages[0].canary.exemplars;
        if (exemplars) exemplars.errors[0] = 'x'.repeat(20_000);
      },
    ],
    [
      'a trace example without a trace id',
      'evidence.traceExamples.failing[0].traceId',
      (s) => {
        const failing = s.evidence.traceExamples?.failing[0];
        if (failing) failing.traceId = '';
      },
    ],
    [
      'a forwarded histogram bucket past 2^53 ns',
      'evidence.forwarded.sources[0].streams[1].value.latency.buckets.positive.offset',
      (s) => {
        const value = s.evidence.forwarded?.sources[0].streams[1].value as {
          latency: { buckets: { positive: { offset: number } } };
        };
        value.latency.buckets.positive.offset = 2 ** 31 - 1;
      },
    ],
    [
      'an error-block sum that is not finite (stored as null)',
      'carried.stages[0].errorBlocks.canary.sumRequestsSquared',
      (s) => (s.carried.stages[0].errorBlocks.canary.sumRequestsSquared = Infinity),
    ],
    ['a p-value above 1', 'carried.srmPValue', (s) => (s.carried.srmPValue = 3)],
    [
      'a missing arm',
      'evidence.stages[0].canary',
      (s) => delete (s.evidence.stages[0] as Partial<(typeof s.evidence.stages)[0]>).canary,
    ],
  ];
  for (const [what, field, edit] of cases) {
    it(`refuses ${what}, naming ${field}`, () => {
      let caught: unknown;
      try {
        parseStoredSnapshot(damaged(edit));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SnapshotError);
      expect((caught as SnapshotError).field).toBe(field);
    });
  }

  it('refuses text that is not JSON', () => {
    expect(() => parseStoredSnapshot('{"evidence": ')).toThrowError(/not valid JSON/);
  });
});
