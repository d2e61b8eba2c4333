// Cumulative -> delta conversion per metric stream (OTLP data model, "Sums" and "Temporality"; the
// Collector's cumulativetodelta processor does the same). A stream is resource + scope + metric +
// point attributes. A reset (the process restarted) shows as a new start time or a count that went
// down; the point after a reset is itself the delta since the restart.
//
// The first point of a stream only sets the reference, unless the stream started after this process
// did (its start time is later than `startedAtMs`): then everything it counts is new and is emitted.
import {
  Temporality,
  type Attributes,
  type DecodedMetricPoint,
  type ExplicitBuckets,
  type ExponentialBuckets,
} from '../otlp/model.js';

export interface MetricDelta {
  /** Monotonic sums: the increase. */
  value?: number;
  /** Histograms: the new requests, their total and their buckets. */
  count?: number;
  sum?: number;
  /**
   * Bounds on the delta's values: the point's min and max (for a cumulative stream those since its start,
   * which bound the delta's values too).
   */
  min?: number;
  max?: number;
  explicit?: ExplicitBuckets;
  exponential?: ExponentialBuckets;
  /** True when the stream restarted and this delta counts from the restart. */
  reset: boolean;
}

export type DeltaResult =
  | { kind: 'delta'; delta: MetricDelta }
  /** First point of a stream that predates us: it only sets the reference. */
  | { kind: 'stream_started' }
  /** Not newer than the last point of its stream (a retried export): ignored. */
  | { kind: 'out_of_order' }
  | { kind: 'temporality' };

interface StreamState {
  point: DecodedMetricPoint;
  lastSeenMs: number;
}

type Buckets = ExponentialBuckets['positive'];

const resourceKeys = new WeakMap<Attributes, string>();

export function attributesKey(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  let text = '';
  for (const key of keys) text += `${key}\u0001${JSON.stringify(attributes[key])}\u0002`;
  return text;
}

/** resource + scope + metric + attributes; the resource part is cached per decoded resource object. */
export function streamKey(point: DecodedMetricPoint): string {
  let resource = resourceKeys.get(point.resource.attributes);
  if (resource === undefined) {
    resource = attributesKey(point.resource.attributes);
    resourceKeys.set(point.resource.attributes, resource);
  }
  return `${resource}\u0003${point.scopeName}\u0003${point.metricName}\u0003${attributesKey(point.attributes)}`;
}

function deltaOfPoint(point: DecodedMetricPoint, reset: boolean): MetricDelta {
  return {
    value: point.value,
    count: point.count,
    sum: point.sum,
    min: point.min,
    max: point.max,
    explicit: point.explicit,
    exponential: point.exponential,
    reset,
  };
}

function subtractExplicit(current: ExplicitBuckets, previous: ExplicitBuckets): ExplicitBuckets | undefined {
  const { bounds } = current;
  if (bounds.length !== previous.bounds.length || bounds.some((b, i) => b !== previous.bounds[i]))
    return undefined;
  const bucketCounts = current.bucketCounts.map((count, i) => count - (previous.bucketCounts[i] ?? 0));
  return bucketCounts.some((c) => c < 0) ? undefined : { bounds, bucketCounts };
}

/** Bucket i at scale s covers bucket floor(i / 2^(s - target)) at a coarser target scale (OTLP data model). */
function downscale(buckets: Buckets, by: number): Buckets {
  if (by === 0 || buckets.bucketCounts.length === 0) return buckets;
  const offset = buckets.offset >> by;
  const last = (buckets.offset + buckets.bucketCounts.length - 1) >> by;
  const bucketCounts = new Array<number>(last - offset + 1).fill(0);
  buckets.bucketCounts.forEach((count, i) => {
    bucketCounts[((buckets.offset + i) >> by) - offset] += count;
  });
  return { offset, bucketCounts };
}

function subtractBuckets(current: Buckets, previous: Buckets): Buckets | undefined {
  const bucketCounts = current.bucketCounts.slice();
  for (let i = 0; i < previous.bucketCounts.length; i++) {
    const count = previous.bucketCounts[i];
    if (count === 0) continue;
    const at = previous.offset + i - current.offset;
    if (at < 0 || at >= bucketCounts.length) return undefined;
    bucketCounts[at] -= count;
    if (bucketCounts[at] < 0) return undefined;
  }
  return { offset: current.offset, bucketCounts };
}

/** Subtracts at the coarser of the two scales (SDKs may downscale a cumulative histogram as it grows). */
function subtractExponential(
  current: ExponentialBuckets,
  previous: ExponentialBuckets,
): ExponentialBuckets | undefined {
  const scale = Math.min(current.scale, previous.scale);
  const positive = subtractBuckets(
    downscale(current.positive, current.scale - scale),
    downscale(previous.positive, previous.scale - scale),
  );
  const negative = subtractBuckets(
    downscale(current.negative, current.scale - scale),
    downscale(previous.negative, previous.scale - scale),
  );
  const zeroCount = current.zeroCount - previous.zeroCount;
  if (!positive || !negative || zeroCount < 0) return undefined;
  return { scale, zeroCount, zeroThreshold: current.zeroThreshold, positive, negative };
}

/** The delta between two cumulative points of one stream, or undefined when the stream was reset. */
function cumulativeDelta(current: DecodedMetricPoint, previous: DecodedMetricPoint): MetricDelta | undefined {
  if (current.startTimeUnixMs !== previous.startTimeUnixMs) return undefined;
  if (current.type === 'sum') {
    const value = (current.value ?? 0) - (previous.value ?? 0);
    return value < 0 ? undefined : { value, reset: false };
  }
  const count = (current.count ?? 0) - (previous.count ?? 0);
  if (count < 0) return undefined;
  const sum =
    current.sum !== undefined && previous.sum !== undefined ? current.sum - previous.sum : undefined;
  const { min, max } = current;
  if (current.explicit && previous.explicit) {
    const explicit = subtractExplicit(current.explicit, previous.explicit);
    return explicit && { count, sum, min, max, explicit, reset: false };
  }
  if (current.exponential && previous.exponential) {
    const exponential = subtractExponential(current.exponential, previous.exponential);
    return exponential && { count, sum, min, max, exponential, reset: false };
  }
  return { count, sum, min, max, reset: false };
}

export class MetricStreams {
  private readonly streams = new Map<string, StreamState>();

  constructor(
    private readonly maxStreams: number,
    private readonly ttlMs: number,
    /** Streams that started at or after this instant are counted from their first point. */
    private readonly startedAtMs: number,
    private readonly onEvict: (reason: 'capacity' | 'expired', count: number) => void,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  /** The point as a delta: delta points pass through, cumulative ones are differenced per stream. */
  toDelta(point: DecodedMetricPoint, nowMs: number): DeltaResult {
    if (point.temporality === Temporality.DELTA) return { kind: 'delta', delta: deltaOfPoint(point, false) };
    if (point.temporality !== Temporality.CUMULATIVE) return { kind: 'temporality' };
    const key = streamKey(point);
    const state = this.streams.get(key);
    if (state) this.streams.delete(key);
    if (
      state &&
      point.startTimeUnixMs === state.point.startTimeUnixMs &&
      point.timeUnixMs <= state.point.timeUnixMs
    ) {
      this.streams.set(key, { point: state.point, lastSeenMs: nowMs });
      return { kind: 'out_of_order' };
    }
    this.streams.set(key, { point, lastSeenMs: nowMs });
    if (this.streams.size > this.maxStreams) this.evictOldest();
    if (!state) {
      const fresh = point.startTimeUnixMs > 0 && point.startTimeUnixMs >= this.startedAtMs;
      return fresh ? { kind: 'delta', delta: deltaOfPoint(point, false) } : { kind: 'stream_started' };
    }
    const delta = cumulativeDelta(point, state.point);
    return { kind: 'delta', delta: delta ?? deltaOfPoint(point, true) };
  }

  /** Forgets streams not updated within the TTL (their senders are gone). */
  expire(nowMs: number): void {
    let expired = 0;
    for (const [key, state] of this.streams) {
      if (nowMs - state.lastSeenMs < this.ttlMs) break;
      this.streams.delete(key);
      expired += 1;
    }
    if (expired > 0) this.onEvict('expired', expired);
  }

  private evictOldest(): void {
    for (const key of this.streams.keys()) {
      this.streams.delete(key);
      this.onEvict('capacity', 1);
      return;
    }
  }
}
