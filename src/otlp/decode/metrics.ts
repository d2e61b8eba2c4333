// ExportMetricsServiceRequest (collector/metrics/v1/metrics_service.proto, resource_metrics = 1) to a
// MetricBatch: one DecodedMetricPoint per data point. Field numbers from metrics/v1/metrics.proto.
import type { DecodedMetricPoint, MetricBatch, ResourceInfo, Temporality } from '../model.js';
import {
  decodeExponentialPoint,
  decodeHistogramPoint,
  decodeNumberPoint,
  decodeSummaryPoint,
} from './metric-points.js';
import type { MetricHeader } from './metric-points.js';
import { noRejections, rejectionFields, type Rejections } from './resource.js';
import { walkEnvelope, type EnvelopeNames } from './envelope.js';
import { decodeWire, enterMessage, leaveMessage, skipField, type WireContext } from './wire.js';

/**
 * Decodes an OTLP/protobuf metrics export. Points that cannot be used (inconsistent buckets, scale out
 * of range) are counted in `rejected`; a malformed payload throws OtlpDecodeError.
 */
export function decodeMetricsRequest(bytes: Uint8Array): MetricBatch {
  return decodeWire('metrics', bytes, 'ExportMetricsServiceRequest', (ctx) => {
    const points: DecodedMetricPoint[] = [];
    const rejections = noRejections();
    let first = 0;
    walkEnvelope(ctx, METRICS_ENVELOPE, {
      item: (resource) => decodeMetric(ctx, resource, points, rejections),
      scopeStart: () => (first = points.length),
      scopeEnd: (scopeName) => {
        if (scopeName !== '') for (let i = first; i < points.length; i++) points[i].scopeName = scopeName;
      },
    });
    return { points, ...rejectionFields(rejections, 'data points') };
  });
}

const METRICS_ENVELOPE: EnvelopeNames = {
  request: 'ExportMetricsServiceRequest',
  resourceField: 'resource_metrics',
  resourceMessage: 'ResourceMetrics',
  scopeField: 'scope_metrics',
  scopeMessage: 'ScopeMetrics',
  itemField: 'metrics',
};

/**
 * Metric: name = 1, unit = 3, and the `data` oneof: gauge = 5, sum = 7, histogram = 9,
 * exponential_histogram = 10, summary = 11. Name and unit may follow the data on the wire, so they are
 * patched into the metric's points at the end.
 */
function decodeMetric(
  ctx: WireContext,
  resource: ResourceInfo,
  points: DecodedMetricPoint[],
  rejections: Rejections,
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const header: MetricHeader = { name: '', unit: '', resource };
  const first = points.length;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        header.name = reader.stringVerify();
        break;
      case 26:
        header.unit = reader.stringVerify();
        break;
      case 42:
        ctx.path.push('Metric.gauge');
        decodeDataContainer(ctx, header, 'gauge', points, rejections);
        ctx.path.pop();
        break;
      case 58:
        ctx.path.push('Metric.sum');
        decodeDataContainer(ctx, header, 'sum', points, rejections);
        ctx.path.pop();
        break;
      case 74:
        ctx.path.push('Metric.histogram');
        decodeDataContainer(ctx, header, 'histogram', points, rejections);
        ctx.path.pop();
        break;
      case 82:
        ctx.path.push('Metric.exponential_histogram');
        decodeDataContainer(ctx, header, 'exponential_histogram', points, rejections);
        ctx.path.pop();
        break;
      case 90:
        ctx.path.push('Metric.summary');
        decodeDataContainer(ctx, header, 'summary', points, rejections);
        ctx.path.pop();
        break;
      default:
        skipField(reader, tag);
    }
  }
  leaveMessage(reader, outer);
  for (let i = first; i < points.length; i++) {
    points[i].metricName = header.name;
    points[i].unit = header.unit;
  }
}

type DataKind = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';

/**
 * Gauge, Sum, Histogram, ExponentialHistogram and Summary share a layout: data_points = 1,
 * aggregation_temporality = 2 (not in Gauge/Summary), is_monotonic = 3 (Sum only). Temporality and
 * monotonicity follow the points on the wire, so they are patched in.
 */
function decodeDataContainer(
  ctx: WireContext,
  header: MetricHeader,
  kind: DataKind,
  points: DecodedMetricPoint[],
  rejections: Rejections,
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const first = points.length;
  let temporality = 0;
  let isMonotonic = false;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      ctx.path.push(`${CONTAINER_NAMES[kind]}.data_points`);
      decodePoint(ctx, header, kind, points, rejections);
      ctx.path.pop();
    } else if (tag === 16 && kind !== 'gauge' && kind !== 'summary') temporality = reader.int32();
    else if (tag === 24 && kind === 'sum') isMonotonic = reader.bool();
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  const knownTemporality = (temporality >= 0 && temporality <= 2 ? temporality : 0) as Temporality;
  for (let i = first; i < points.length; i++) {
    points[i].temporality = knownTemporality;
    points[i].isMonotonic = isMonotonic;
  }
}

const CONTAINER_NAMES: Record<DataKind, string> = {
  gauge: 'Gauge',
  sum: 'Sum',
  histogram: 'Histogram',
  exponential_histogram: 'ExponentialHistogram',
  summary: 'Summary',
};

function decodePoint(
  ctx: WireContext,
  header: MetricHeader,
  kind: DataKind,
  points: DecodedMetricPoint[],
  rejections: Rejections,
): void {
  switch (kind) {
    case 'gauge':
    case 'sum':
      decodeNumberPoint(ctx, header, kind, points);
      return;
    case 'histogram':
      decodeHistogramPoint(ctx, header, points, rejections);
      return;
    case 'exponential_histogram':
      decodeExponentialPoint(ctx, header, points, rejections);
      return;
    case 'summary':
      decodeSummaryPoint(ctx, header, points);
  }
}
