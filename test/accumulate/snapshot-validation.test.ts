// Stored snapshots are validated before they are restored (issue 9, case 2: the poisoned state was saved and
// froze the judge again after every restart). A valid snapshot round-trips; each kind of damage is a
// SnapshotError naming the field.
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import { SnapshotError, parseStoredSnapshot } from '../../src/accumulate/snapshot-validation.js';
import { initialSequentialState } from '../../src/stats/analysis-policy.js';

function storedState(): { arms: ReturnType<Accumulator['snapshot']>; carried: unknown } {
  const accumulator = new Accumulator();
  accumulator.accept([
    { kind: 'span', analysisId: 'a', arm: 'baseline', timeUnixMs: 1, durationNanos: 2e6, isError: false },
    { kind: 'span', analysisId: 'a', arm: 'canary', timeUnixMs: 1, durationNanos: 3e6, isError: true },
  ]);
  return { arms: accumulator.snapshot('a'), carried: initialSequentialState() };
}

function damaged(edit: (state: ReturnType<typeof storedState>) => void): string {
  const state = storedState();
  edit(state);
  return JSON.stringify(state);
}

describe('parseStoredSnapshot', () => {
  it('accepts what the judge stores and restores it exactly', () => {
    const json = JSON.stringify(storedState());
    const parsed = parseStoredSnapshot(json);
    const accumulator = new Accumulator();
    accumulator.restore('a', parsed.arms);
    expect(accumulator.snapshot('a')).toEqual(storedState().arms);
  });

  it('reads a p-value stored as null (NaN) as 1', () => {
    const json = damaged(
      (s) =>
        (s.carried = { version: 1, metrics: { m: { worsePValue: null, withinPValue: 0.5 } }, srmPValue: 1 }),
    );
    expect(parseStoredSnapshot(json).carried.metrics.m).toEqual({ worsePValue: 1, withinPValue: 0.5 });
  });

  const cases: Array<[string, string, (s: ReturnType<typeof storedState>) => void]> = [
    [
      'a bucket at the top of the double range (what +Inf bounds used to store)',
      'arms.canary.latency.offset',
      (s) => (s.arms.canary.latency.offset = 65_535),
    ],
    [
      'a count past 2^53',
      'arms.baseline.latency.counts[0]',
      (s) => (s.arms.baseline.latency.counts[0] = 2 ** 60),
    ],
    ['a negative request count', 'arms.baseline.requests', (s) => (s.arms.baseline.requests = -1)],
    ['more errors than requests', 'arms.canary.errors', (s) => (s.arms.canary.errors = 5)],
    [
      'more buckets than maxBuckets',
      'arms.canary.latency.counts',
      (s) => (s.arms.canary.latency.counts = new Array(5000).fill(1)),
    ],
    ['a scale outside [-10, 20]', 'arms.canary.latency.scale', (s) => (s.arms.canary.latency.scale = 64)],
    [
      'a p-value above 1',
      'carried.srmPValue',
      (s) => (s.carried = { ...initialSequentialState(), srmPValue: 3 }),
    ],
    ['a missing arm', 'arms.canary', (s) => delete (s.arms as Partial<typeof s.arms>).canary],
  ];
  for (const [what, field, edit] of cases) {
    it(`refuses ${what}, naming ${field}`, () => {
      expect(() => parseStoredSnapshot(damaged(edit))).toThrowError(SnapshotError);
      try {
        parseStoredSnapshot(damaged(edit));
      } catch (error) {
        expect((error as SnapshotError).field).toBe(field);
      }
    });
  }

  it('refuses text that is not JSON', () => {
    expect(() => parseStoredSnapshot('{"arms": ')).toThrowError(/not valid JSON/);
  });
});
