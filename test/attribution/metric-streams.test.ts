import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricStreams, streamKey } from '../../src/attribution/metric-streams.js';
import { Temporality, type ExponentialBuckets } from '../../src/otlp/model.js';
import { T0, point, resource } from './fixtures.js';

function streams(startedAtMs = T0) {
  const evictions: string[] = [];
  return {
    streams: new MetricStreams(100, 60_000, startedAtMs, (reason) => evictions.push(reason)),
    evictions,
  };
}

const exp = (scale: number, offset: number, bucketCounts: number[], zeroCount = 0): ExponentialBuckets => ({
  scale,
  zeroCount,
  zeroThreshold: 0,
  positive: { offset, bucketCounts },
  negative: { offset: 0, bucketCounts: [] },
});

const cumulative = (exponential: ExponentialBuckets, count: number, timeUnixMs: number) =>
  point({
    type: 'exponential_histogram',
    temporality: Temporality.CUMULATIVE,
    explicit: undefined,
    exponential,
    count,
    timeUnixMs,
    startTimeUnixMs: T0 - 1,
  });

describe('MetricStreams', () => {
  it('passes delta points through without keeping state', () => {
    const { streams: s } = streams();
    expect(s.toDelta(point(), T0)).toMatchObject({ kind: 'delta', delta: { count: 3, reset: false } });
    expect(s.size).toBe(0);
  });

  it('ignores points with unspecified temporality', () => {
    const { streams: s } = streams();
    expect(s.toDelta(point({ temporality: Temporality.UNSPECIFIED }), T0)).toEqual({ kind: 'temporality' });
  });

  it('subtracts cumulative exponential histograms bucket by bucket', () => {
    const { streams: s } = streams();
    s.toDelta(cumulative(exp(2, 4, [1, 2], 1), 4, T0), T0);
    const result = s.toDelta(cumulative(exp(2, 3, [5, 3, 4], 2), 14, T0 + 1), T0);
    expect(result).toEqual({
      kind: 'delta',
      delta: { count: 10, sum: 0, exponential: exp(2, 3, [5, 2, 2], 1), reset: false, previousSeenMs: T0 },
    });
  });

  it('downscales to the coarser scale when the SDK rescaled between points', () => {
    const { streams: s } = streams();
    // scale 1 buckets 4,5 (-> scale 0 bucket 2) and 6 (-> 3); then the SDK moved to scale 0.
    s.toDelta(cumulative(exp(1, 4, [1, 1, 1]), 3, T0), T0);
    const result = s.toDelta(cumulative(exp(0, 2, [5, 4]), 9, T0 + 1), T0);
    expect(result).toMatchObject({ kind: 'delta', delta: { count: 6, exponential: exp(0, 2, [3, 3]) } });
  });

  it('treats a count that went down as a reset and emits the new cumulative value', () => {
    const { streams: s } = streams();
    s.toDelta(cumulative(exp(0, 0, [5]), 5, T0), T0);
    expect(s.toDelta(cumulative(exp(0, 0, [2]), 2, T0 + 1), T0)).toMatchObject({
      kind: 'delta',
      delta: { count: 2, reset: true },
    });
  });

  it('treats changed explicit bounds as a reset', () => {
    const { streams: s } = streams();
    const histogram = (bounds: number[], timeUnixMs: number) =>
      point({
        temporality: Temporality.CUMULATIVE,
        startTimeUnixMs: T0 - 1,
        timeUnixMs,
        explicit: { bounds, bucketCounts: [1, 1, 1] },
        count: 3,
      });
    s.toDelta(histogram([1, 2], T0), T0);
    expect(s.toDelta(histogram([1, 3], T0 + 1), T0)).toMatchObject({ delta: { reset: true, count: 3 } });
  });

  it('keys streams by resource, scope, metric and attributes regardless of attribute order', () => {
    const a = point({ attributes: { x: 1, y: 'b' } });
    const b = point({ attributes: { y: 'b', x: 1 } });
    expect(streamKey(a)).toBe(streamKey(b));
    expect(streamKey(a)).not.toBe(
      streamKey(point({ attributes: { x: 1, y: 'b' }, resource: resource('other') })),
    );
    expect(streamKey(a)).not.toBe(streamKey(point({ attributes: { x: 1, y: 'b' }, scopeName: 'other' })));
  });
});

describe('MetricStreams cumulative sums (property)', () => {
  it('emits deltas that add up to every increment after the first point, across resets and retried exports', () => {
    const step = fc.record({
      kind: fc.constantFrom('add', 'add', 'add', 'reset', 'retry'),
      amount: fc.nat({ max: 50 }),
    });
    fc.assert(
      fc.property(fc.nat({ max: 50 }), fc.array(step, { maxLength: 60 }), (first, steps) => {
        const { streams: s } = streams();
        let start = T0 - 1_000;
        let time = T0;
        let value = first;
        const sum = () =>
          point({
            type: 'sum',
            isMonotonic: true,
            temporality: Temporality.CUMULATIVE,
            value,
            startTimeUnixMs: start,
            timeUnixMs: time,
            explicit: undefined,
          });
        let emitted = 0;
        const send = (p: ReturnType<typeof sum>) => {
          const result = s.toDelta(p, T0);
          if (result.kind === 'delta') emitted += result.delta.value ?? 0;
        };
        send(sum());
        let expected = 0;
        let last = sum();
        for (const { kind, amount } of steps) {
          if (kind === 'retry') {
            send(last); // the same point again: ignored
            continue;
          }
          time += 1_000;
          if (kind === 'reset') {
            start = time - 10;
            value = amount;
          } else value += amount;
          expected += amount;
          last = sum();
          send(last);
        }
        expect(emitted).toBe(expected);
      }),
      { numRuns: 300, seed: 6 },
    );
  });
});

describe('MetricStreams and late exports from before a reset', () => {
  const sum = (startTimeUnixMs: number, timeUnixMs: number, value: number) =>
    point({
      type: 'sum',
      isMonotonic: true,
      temporality: Temporality.CUMULATIVE,
      value,
      startTimeUnixMs,
      timeUnixMs,
      explicit: undefined,
    });

  it('ignores a point of the stream before its restart that arrives after it (a retried export)', () => {
    // A Collector retries a refused batch (503) while later batches get through: the point from before the
    // process restarted arrives after the first point since. It is older than what the stream has seen; taken
    // for a reset it added its whole cumulative value (15), and the next point was a "reset" again (7, not 4).
    const { streams: s } = streams();
    const before = T0 - 60_000;
    const after = T0 + 20_000;
    const emitted: number[] = [];
    for (const p of [
      sum(before, T0, 10),
      sum(before, T0 + 10_000, 15),
      sum(after, T0 + 30_000, 3), // the process restarted
      sum(before, T0 + 10_000, 15), // the late retry
      sum(after, T0 + 40_000, 7),
    ]) {
      const result = s.toDelta(p, T0);
      emitted.push(result.kind === 'delta' ? (result.delta.value ?? 0) : -1);
    }
    expect(emitted).toEqual([-1, 5, 3, -1, 4]);
  });

  it('emits deltas that add up to every increment after the first point when any earlier point is sent again', () => {
    const step = fc.record({
      kind: fc.constantFrom('add', 'add', 'add', 'reset', 'late'),
      amount: fc.nat({ max: 50 }),
      pick: fc.nat(),
    });
    fc.assert(
      fc.property(fc.nat({ max: 50 }), fc.array(step, { maxLength: 60 }), (first, steps) => {
        const { streams: s } = streams();
        let start = T0 - 1_000;
        let time = T0;
        let value = first;
        let emitted = 0;
        const sent: ReturnType<typeof sum>[] = [];
        const send = (p: ReturnType<typeof sum>) => {
          const result = s.toDelta(p, T0);
          if (result.kind === 'delta') emitted += result.delta.value ?? 0;
        };
        sent.push(sum(start, time, value));
        send(sent[0]);
        let expected = 0;
        for (const { kind, amount, pick } of steps) {
          if (kind === 'late') {
            send(sent[pick % sent.length]); // any earlier point again: ignored
            continue;
          }
          time += 1_000;
          if (kind === 'reset') {
            start = time - 10;
            value = amount;
          } else value += amount;
          expected += amount;
          sent.push(sum(start, time, value));
          send(sent[sent.length - 1]);
        }
        expect(emitted).toBe(expected);
      }),
      { numRuns: 300, seed: 6 },
    );
  });
});

describe('MetricStreams memory (issue 9, case 7)', () => {
  const wide = (n: number) =>
    point({
      temporality: Temporality.CUMULATIVE,
      startTimeUnixMs: T0 - 1,
      attributes: { 'http.route': `/${n}/${'r'.repeat(20_000)}` },
    });

  it('keeps a stream key of 20 KB as its digest and never the decoded point', () => {
    const key = streamKey(wide(1));
    expect(key.length).toBeLessThan(64);
    expect(streamKey(wide(1))).toBe(key);
    expect(streamKey(wide(2))).not.toBe(key);
  });

  it('forgets the least recently updated streams past the byte budget, counting each', () => {
    const evictions: string[] = [];
    const s = new MetricStreams(10_000, 60_000, T0, (reason) => evictions.push(reason), 64 * 1024);
    for (let n = 0; n < 10_000; n++) s.toDelta(wide(n), T0);
    expect(s.heldBytes).toBeLessThanOrEqual(64 * 1024);
    expect(s.size).toBeGreaterThan(50);
    expect(evictions).toHaveLength(10_000 - s.size);
    expect(new Set(evictions)).toEqual(new Set(['capacity']));
  });
});
