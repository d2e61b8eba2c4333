// Cumulative -> delta conversion per metric stream (OTLP data model, "Sums" and "Temporality"; the
// Collector's cumulativetodelta processor does the same). A stream is resource + scope + metric +
// point attributes. A reset (the process restarted) shows as a new start time or a count that went
// down; the point after a reset is itself the delta since the restart.
//
// The first point of a stream only sets the reference, unless the stream started after this process
// did (its start time is later than `startedAtMs`): then everything it counts is new and is emitted.
//
// Memory is bounded in bytes as well as in streams (issue 9, case 7: 10,000 streams with a 20 KB attribute
// took ~580 MB): a stream keeps only what the next delta needs (times, counts, buckets; never the decoded
// point with its attributes and resource), a key over MAX_STORED_STREAM_KEY_CHARS is kept as its SHA-256
// digest, and past `maxBytes` the least recently updated streams are forgotten (counted as `capacity`).
import { createHash } from 'node:crypto';
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
  /**
   * When the stream's previous point arrived (the `nowMs` of its toDelta), for a cumulative stream's delta:
   * the delta holds what the stream counted since then. Undefined for delta points and a stream's first.
   */
  previousSeenMs?: number;
}

export type DeltaResult =
  | { kind: 'delta'; delta: MetricDelta }
  /** First point of a stream that predates us: it only sets the reference. */
  | { kind: 'stream_started' }
  /** Not newer than the last point of its stream (a retried export): ignored. */
  | { kind: 'out_of_order' }
  | { kind: 'temporality' };

/** What a stream keeps of its last point: exactly what cumulativeDelta reads. */
type StreamPoint = Pick<
  DecodedMetricPoint,
  'type' | 'startTimeUnixMs' | 'timeUnixMs' | 'value' | 'count' | 'sum' | 'explicit' | 'exponential'
>;

interface StreamState {
  point: StreamPoint;
  lastSeenMs: number;
  bytes: number;
}

/** Longest stream key kept as is; longer ones are kept as their digest. */
export const MAX_STORED_STREAM_KEY_CHARS = 256;
/** Estimated bytes of one stream's Map entry and records beyond its key and bucket arrays. */
const STREAM_OVERHEAD_BYTES = 300;

function keepOf(point: DecodedMetricPoint): StreamPoint {
  const { type, startTimeUnixMs, timeUnixMs, value, count, sum, explicit, exponential } = point;
  return { type, startTimeUnixMs, timeUnixMs, value, count, sum, explicit, exponential };
}

function streamBytes(key: string, point: StreamPoint): number {
  let numbers = 0;
  if (point.explicit) numbers += point.explicit.bounds.length + point.explicit.bucketCounts.length;
  if (point.exponential)
    numbers +=
      point.exponential.positive.bucketCounts.length + point.exponential.negative.bucketCounts.length;
  return 2 * key.length + 8 * numbers + STREAM_OVERHEAD_BYTES;
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
  const key = `${resource}\u0003${point.scopeName}\u0003${point.metricName}\u0003${attributesKey(point.attributes)}`;
  return key.length <= MAX_STORED_STREAM_KEY_CHARS
    ? key
    : `#${createHash('sha256').update(key).digest('base64url')}`;
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
function cumulativeDelta(current: DecodedMetricPoint, previous: StreamPoint): MetricDelta | undefined {
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
  private bytes = 0;

  constructor(
    private readonly maxStreams: number,
    private readonly ttlMs: number,
    /** Streams that started at or after this instant are counted from their first point. */
    private readonly startedAtMs: number,
    private readonly onEvict: (reason: 'capacity' | 'expired', count: number) => void,
    private readonly maxBytes: number = Infinity,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  /** Estimated bytes held by the streams' keys and last points. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** The point as a delta: delta points pass through, cumulative ones are differenced per stream. */
  toDelta(point: DecodedMetricPoint, nowMs: number): DeltaResult {
    if (point.temporality === Temporality.DELTA) return { kind: 'delta', delta: deltaOfPoint(point, false) };
    if (point.temporality !== Temporality.CUMULATIVE) return { kind: 'temporality' };
    const key = streamKey(point);
    const state = this.streams.get(key);
    if (state) this.forget(key, state);
    // Not newer than the stream's last point, whatever its start time: a point from before a restart that
    // arrives after it (a retried export) is not a reset, which would count its whole value again.
    if (state && point.timeUnixMs <= state.point.timeUnixMs) {
      this.remember(key, { ...state, lastSeenMs: nowMs });
      return { kind: 'out_of_order' };
    }
    const kept = keepOf(point);
    this.remember(key, { point: kept, lastSeenMs: nowMs, bytes: streamBytes(key, kept) });
    // Oldest first, never the stream just updated: at most one pass per stream.
    while (this.streams.size > 1 && (this.streams.size > this.maxStreams || this.bytes > this.maxBytes))
      this.evictOldest();
    if (!state) {
      const fresh = point.startTimeUnixMs > 0 && point.startTimeUnixMs >= this.startedAtMs;
      return fresh ? { kind: 'delta', delta: deltaOfPoint(point, false) } : { kind: 'stream_started' };
    }
    const delta = cumulativeDelta(point, state.point) ?? deltaOfPoint(point, true);
    delta.previousSeenMs = state.lastSeenMs;
    return { kind: 'delta', delta };
  }

  /** Forgets streams not updated within the TTL (their senders are gone). */
  expire(nowMs: number): void {
    let expired = 0;
    for (const [key, state] of this.streams) {
      if (nowMs - state.lastSeenMs < this.ttlMs) break;
      this.forget(key, state);
      expired += 1;
    }
    if (expired > 0) this.onEvict('expired', expired);
  }

  private remember(key: string, state: StreamState): void {
    this.streams.set(key, state);
    this.bytes += state.bytes;
  }

  private forget(key: string, state: StreamState): void {
    this.streams.delete(key);
    this.bytes -= state.bytes;
  }

  private evictOldest(): void {
    for (const [key, state] of this.streams) {
      this.forget(key, state);
      this.onEvict('capacity', 1);
      return;
    }
  }
}
