// The four data point messages of metrics/v1/metrics.proto, each to a DecodedMetricPoint. Fields shared
// by all: start_time_unix_nano = 2, time_unix_nano = 3 (fixed64); attributes are 7 (Number, Summary),
// 9 (Histogram) or 1 (ExponentialHistogram). Metric name, unit, temporality and scope are patched in by
// metrics.ts once their (possibly later) fields have been read.
import {
  NO_RECORDED_VALUE_FLAG,
  type Attributes,
  type DecodedMetricPoint,
  type ExponentialBuckets,
  type MetricType,
  type ResourceInfo,
} from '../model.js';
import { countAttribute, decodeKeyValue } from './any-value.js';
import { checkExponential, checkHistogram } from './metric-checks.js';
import { quotedName, reject, traceIdProblem, type Rejections } from './resource.js';
import {
  enterMessage,
  leaveMessage,
  nanosHalvesToMs,
  readBytesHex,
  readDoubles,
  readFixed64,
  readFixed64s,
  readSfixed64,
  readUint64s,
  skipField,
  type WireContext,
} from './wire.js';

/** The metric a point belongs to, as far as it has been read. */
export interface MetricHeader {
  name: string;
  unit: string;
  resource: ResourceInfo;
}

function newPoint(header: MetricHeader, type: MetricType, attributes: Attributes): DecodedMetricPoint {
  return {
    resource: header.resource,
    scopeName: '',
    metricName: header.name,
    unit: header.unit,
    type,
    temporality: 0,
    isMonotonic: false,
    attributes,
    startTimeUnixMs: 0,
    timeUnixMs: 0,
    exemplarTraceIds: [],
  };
}

/** Reads the shared start/time fields (tags 17 and 25); returns false when `tag` is neither. */
function readPointTime(ctx: WireContext, tag: number, point: DecodedMetricPoint): boolean {
  const reader = ctx.reader;
  if (tag === 17) {
    const lo = reader.fixed32();
    point.startTimeUnixMs = nanosHalvesToMs(lo, reader.fixed32());
    return true;
  }
  if (tag === 25) {
    const lo = reader.fixed32();
    point.timeUnixMs = nanosHalvesToMs(lo, reader.fixed32());
    return true;
  }
  return false;
}

/** Reads a point's `flags` (uint32): a staleness marker is marked, so that it is never taken for data. */
function readFlags(ctx: WireContext, point: DecodedMetricPoint): void {
  if ((ctx.reader.uint32() & NO_RECORDED_VALUE_FLAG) !== 0) point.noRecordedValue = true;
}

/** Reads one attribute of a point; `seen` counts those read before (the per-list limit). */
function readAttributes(ctx: WireContext, frame: string, attributes: Attributes, seen: number): number {
  const count = countAttribute(seen, frame);
  ctx.path.push(frame);
  decodeKeyValue(ctx, attributes, 0);
  ctx.path.pop();
  return count;
}

/** Exemplar: only trace_id = 5 is kept (the join key to a trace's variant); an exemplar without one is skipped. */
function readExemplar(ctx: WireContext, into: string[]): void {
  const reader = ctx.reader;
  ctx.path.push('Exemplar');
  const outer = enterMessage(reader);
  let traceId = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 42) traceId = readBytesHex(reader);
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  ctx.path.pop();
  if (traceIdProblem(traceId) === '') into.push(traceId);
}

function label(header: MetricHeader, type: string): string {
  return `${type} ${quotedName(header.name)}`;
}

/** NumberDataPoint: attributes = 7, as_double = 4, as_int = 6 (sfixed64), exemplars = 5. */
export function decodeNumberPoint(
  ctx: WireContext,
  header: MetricHeader,
  type: 'gauge' | 'sum',
  points: DecodedMetricPoint[],
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const point = newPoint(header, type, {});
  let attributeCount = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (readPointTime(ctx, tag, point)) continue;
    if (tag === 33) point.value = reader.double();
    else if (tag === 49) point.value = readSfixed64(reader);
    else if (tag === 58)
      attributeCount = readAttributes(ctx, 'NumberDataPoint.attributes', point.attributes, attributeCount);
    else if (tag === 42) readExemplar(ctx, point.exemplarTraceIds);
    else if (tag === 64) readFlags(ctx, point);
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  // A point with neither value (e.g. flags = NO_RECORDED_VALUE, a staleness marker) keeps value unset.
  points.push(point);
}

/**
 * HistogramDataPoint: attributes = 9, count = 4, sum = 5 (optional), bucket_counts = 6 (fixed64,
 * packed or not), explicit_bounds = 7 (double, packed or not), exemplars = 8, min = 11, max = 12.
 * Rejected when bucket_counts is neither empty nor bounds + 1 long, when the bounds are not strictly
 * increasing, or when the buckets do not add up to count (all MUSTs of metrics.proto).
 */
export function decodeHistogramPoint(
  ctx: WireContext,
  header: MetricHeader,
  points: DecodedMetricPoint[],
  rejections: Rejections,
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const point = newPoint(header, 'histogram', {});
  let attributeCount = 0;
  const bounds: number[] = [];
  const bucketCounts: number[] = [];
  point.count = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (readPointTime(ctx, tag, point)) continue;
    switch (tag) {
      case 33:
        point.count = readFixed64(reader);
        break;
      case 41:
        point.sum = reader.double();
        break;
      case 50:
      case 49:
        readFixed64s(reader, tag === 50, bucketCounts);
        break;
      case 58:
      case 57:
        readDoubles(reader, tag === 58, bounds);
        break;
      case 66:
        readExemplar(ctx, point.exemplarTraceIds);
        break;
      case 74:
        attributeCount = readAttributes(
          ctx,
          'HistogramDataPoint.attributes',
          point.attributes,
          attributeCount,
        );
        break;
      case 80:
        readFlags(ctx, point);
        break;
      case 89:
        point.min = reader.double();
        break;
      case 97:
        point.max = reader.double();
        break;
      default:
        skipField(reader, tag);
    }
  }
  leaveMessage(reader, outer);
  const problem = checkHistogram(point.count, bounds, bucketCounts);
  if (problem !== '') {
    reject(rejections, `${label(header, 'histogram')}: ${problem}`, 'invalid_histogram');
    return;
  }
  if (bucketCounts.length > 0) point.explicit = { bounds, bucketCounts };
  points.push(point);
}

/**
 * ExponentialHistogramDataPoint: attributes = 1, count = 4, sum = 5, scale = 6 (sint32), zero_count = 7,
 * positive = 8, negative = 9 (Buckets: offset = 1 sint32, bucket_counts = 2 uint64), exemplars = 11,
 * min = 12, max = 13, zero_threshold = 14.
 */
export function decodeExponentialPoint(
  ctx: WireContext,
  header: MetricHeader,
  points: DecodedMetricPoint[],
  rejections: Rejections,
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const point = newPoint(header, 'exponential_histogram', {});
  let attributeCount = 0;
  const buckets: ExponentialBuckets = {
    scale: 0,
    zeroCount: 0,
    zeroThreshold: 0,
    positive: { offset: 0, bucketCounts: [] },
    negative: { offset: 0, bucketCounts: [] },
  };
  point.count = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (readPointTime(ctx, tag, point)) continue;
    switch (tag) {
      case 10:
        attributeCount = readAttributes(
          ctx,
          'ExponentialHistogramDataPoint.attributes',
          point.attributes,
          attributeCount,
        );
        break;
      case 33:
        point.count = readFixed64(reader);
        break;
      case 41:
        point.sum = reader.double();
        break;
      case 48:
        buckets.scale = reader.sint32();
        break;
      case 57:
        buckets.zeroCount = readFixed64(reader);
        break;
      case 66:
      case 74:
        ctx.path.push(
          tag === 66 ? 'ExponentialHistogramDataPoint.positive' : 'ExponentialHistogramDataPoint.negative',
        );
        readBuckets(ctx, tag === 66 ? buckets.positive : buckets.negative);
        ctx.path.pop();
        break;
      case 80:
        readFlags(ctx, point);
        break;
      case 90:
        readExemplar(ctx, point.exemplarTraceIds);
        break;
      case 97:
        point.min = reader.double();
        break;
      case 105:
        point.max = reader.double();
        break;
      case 113:
        buckets.zeroThreshold = reader.double();
        break;
      default:
        skipField(reader, tag);
    }
  }
  leaveMessage(reader, outer);
  const problem = checkExponential(point.count, buckets);
  if (problem !== '') {
    reject(rejections, `${label(header, 'exponential histogram')}: ${problem}`, 'invalid_histogram');
    return;
  }
  point.exponential = buckets;
  points.push(point);
}

function readBuckets(ctx: WireContext, into: { offset: number; bucketCounts: number[] }): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 8) into.offset = reader.sint32();
    else if (tag === 18 || tag === 16) readUint64s(reader, tag === 18, into.bucketCounts);
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
}

/** SummaryDataPoint: attributes = 7, count = 4, sum = 5 (quantile_values are not used downstream). */
export function decodeSummaryPoint(
  ctx: WireContext,
  header: MetricHeader,
  points: DecodedMetricPoint[],
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const point = newPoint(header, 'summary', {});
  let attributeCount = 0;
  point.count = 0;
  point.sum = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (readPointTime(ctx, tag, point)) continue;
    if (tag === 33) point.count = readFixed64(reader);
    else if (tag === 41) point.sum = reader.double();
    else if (tag === 58)
      attributeCount = readAttributes(ctx, 'SummaryDataPoint.attributes', point.attributes, attributeCount);
    else if (tag === 64) readFlags(ctx, point);
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  points.push(point);
}
