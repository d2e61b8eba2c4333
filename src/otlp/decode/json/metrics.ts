// OTLP/JSON ExportMetricsServiceRequest to a MetricBatch; the same model and checks as ../metrics.ts.
import {
  NO_RECORDED_VALUE_FLAG,
  type DecodedMetricPoint,
  type MetricBatch,
  type MetricType,
  type ResourceInfo,
  type Temporality,
} from '../../model.js';
import { checkExponential, checkHistogram } from '../metric-checks.js';
import {
  quotedName,
  noRejections,
  reject,
  rejectionFields,
  traceIdProblem,
  type Rejections,
} from '../resource.js';
import { jsonAttributes } from './any-value.js';
import { decodeJsonDocument, eachObject, jsonResource, jsonScopeName } from './document.js';
import {
  asArray,
  asBool,
  asCount,
  asDouble,
  asEnum,
  asIdHex,
  asInteger,
  asNanosParts,
  asObject,
  asString,
  field,
  partsToMs,
  type JsonObject,
  type JsonPath,
} from './values.js';

const TEMPORALITY_NAMES = [
  'AGGREGATION_TEMPORALITY_UNSPECIFIED',
  'AGGREGATION_TEMPORALITY_DELTA',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
] as const;

/** JSON names of the Metric.data oneof members, with the model's type for each. */
const DATA_FIELDS: readonly (readonly [string, string, MetricType])[] = [
  ['gauge', 'gauge', 'gauge'],
  ['sum', 'sum', 'sum'],
  ['histogram', 'histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram', 'exponential_histogram'],
  ['summary', 'summary', 'summary'],
];

interface MetricContext {
  resource: ResourceInfo;
  scopeName: string;
  name: string;
  unit: string;
  type: MetricType;
  temporality: Temporality;
  isMonotonic: boolean;
}

/** Decodes an OTLP/JSON metrics export (text or UTF-8 bytes). */
export function decodeMetricsRequestJson(input: string | Uint8Array): MetricBatch {
  return decodeJsonDocument('metrics', input, (root) => {
    const points: DecodedMetricPoint[] = [];
    const rejections = noRejections();
    eachObject(root, 'resourceMetrics', 'resource_metrics', '$', (resourceMetrics, resourcePath) => {
      const resource = jsonResource(resourceMetrics, resourcePath);
      eachObject(
        resourceMetrics,
        'scopeMetrics',
        'scope_metrics',
        resourcePath,
        (scopeMetrics, scopePath) => {
          const scopeName = jsonScopeName(scopeMetrics, scopePath);
          eachObject(scopeMetrics, 'metrics', 'metrics', scopePath, (metric, metricPath) => {
            for (const [camel, snake, type] of DATA_FIELDS) {
              const data = asObject(field(metric, camel, snake), `${metricPath}.${camel}`);
              if (data === undefined) continue;
              const temporality = asEnum(
                field(data, 'aggregationTemporality', 'aggregation_temporality'),
                TEMPORALITY_NAMES,
                `${metricPath}.${camel}.aggregationTemporality`,
              );
              const context: MetricContext = {
                resource,
                scopeName,
                name: asString(metric.name, `${metricPath}.name`),
                unit: asString(metric.unit, `${metricPath}.unit`),
                type,
                temporality: (temporality >= 0 && temporality <= 2 ? temporality : 0) as Temporality,
                isMonotonic: asBool(
                  field(data, 'isMonotonic', 'is_monotonic'),
                  `${metricPath}.${camel}.isMonotonic`,
                ),
              };
              eachObject(data, 'dataPoints', 'data_points', `${metricPath}.${camel}`, (point, pointPath) =>
                jsonPoint(context, point, pointPath, points, rejections),
              );
            }
          });
        },
      );
    });
    return { points, ...rejectionFields(rejections, 'data points') };
  });
}

function jsonPoint(
  metric: MetricContext,
  point: JsonObject,
  path: JsonPath,
  points: DecodedMetricPoint[],
  rejections: Rejections,
): void {
  const decoded: DecodedMetricPoint = {
    resource: metric.resource,
    scopeName: metric.scopeName,
    metricName: metric.name,
    unit: metric.unit,
    type: metric.type,
    temporality: metric.temporality,
    isMonotonic: metric.isMonotonic,
    attributes: jsonAttributes(point.attributes, `${path}.attributes`),
    startTimeUnixMs: partsToMs(
      asNanosParts(field(point, 'startTimeUnixNano', 'start_time_unix_nano'), `${path}.startTimeUnixNano`),
    ),
    timeUnixMs: partsToMs(
      asNanosParts(field(point, 'timeUnixNano', 'time_unix_nano'), `${path}.timeUnixNano`),
    ),
    exemplarTraceIds: [],
  };
  if ((asInteger(point.flags, `${path}.flags`) & NO_RECORDED_VALUE_FLAG) !== 0)
    decoded.noRecordedValue = true;
  eachObject(point, 'exemplars', 'exemplars', path, (exemplar, exemplarPath) => {
    const traceId = asIdHex(field(exemplar, 'traceId', 'trace_id'), 16, `${exemplarPath}.traceId`);
    if (traceId !== null && traceIdProblem(traceId) === '') decoded.exemplarTraceIds.push(traceId);
  });
  const label = `${metric.type.replace('_', ' ')} ${quotedName(metric.name)}`;
  let problem = '';
  if (metric.type === 'gauge' || metric.type === 'sum') {
    const asDoubleValue = field(point, 'asDouble', 'as_double');
    const asIntValue = field(point, 'asInt', 'as_int');
    if (asDoubleValue != null) decoded.value = asDouble(asDoubleValue, `${path}.asDouble`);
    else if (asIntValue != null) decoded.value = asInteger(asIntValue, `${path}.asInt`);
  } else {
    decoded.count = asCount(point.count, `${path}.count`);
    if (point.sum != null || metric.type === 'summary') decoded.sum = asDouble(point.sum, `${path}.sum`);
    if (metric.type !== 'summary') {
      if (point.min != null) decoded.min = asDouble(point.min, `${path}.min`);
      if (point.max != null) decoded.max = asDouble(point.max, `${path}.max`);
    }
    if (metric.type === 'histogram') problem = jsonExplicit(point, path, decoded);
    if (metric.type === 'exponential_histogram') problem = jsonExponential(point, path, decoded);
  }
  if (problem !== '') reject(rejections, `${label}: ${problem}`, 'invalid_histogram');
  else points.push(decoded);
}

function jsonExplicit(point: JsonObject, path: JsonPath, decoded: DecodedMetricPoint): string {
  const bucketCounts = asArray(field(point, 'bucketCounts', 'bucket_counts'), `${path}.bucketCounts`).map(
    (c, i) => asCount(c, `${path}.bucketCounts[${i}]`),
  );
  const bounds = asArray(field(point, 'explicitBounds', 'explicit_bounds'), `${path}.explicitBounds`).map(
    (b, i) => asDouble(b, `${path}.explicitBounds[${i}]`),
  );
  const problem = checkHistogram(decoded.count ?? 0, bounds, bucketCounts);
  if (problem === '' && bucketCounts.length > 0) decoded.explicit = { bounds, bucketCounts };
  return problem;
}

function jsonExponential(point: JsonObject, path: JsonPath, decoded: DecodedMetricPoint): string {
  const side = (name: 'positive' | 'negative') => {
    const buckets = asObject(point[name], `${path}.${name}`);
    if (buckets === undefined) return { offset: 0, bucketCounts: [] };
    return {
      offset: asInteger(buckets.offset, `${path}.${name}.offset`),
      bucketCounts: asArray(
        field(buckets, 'bucketCounts', 'bucket_counts'),
        `${path}.${name}.bucketCounts`,
      ).map((c, i) => asCount(c, `${path}.${name}.bucketCounts[${i}]`)),
    };
  };
  const exponential = {
    scale: asInteger(point.scale, `${path}.scale`),
    zeroCount: asCount(field(point, 'zeroCount', 'zero_count'), `${path}.zeroCount`),
    zeroThreshold: asDouble(field(point, 'zeroThreshold', 'zero_threshold'), `${path}.zeroThreshold`),
    positive: side('positive'),
    negative: side('negative'),
  };
  const problem = checkExponential(decoded.count ?? 0, exponential);
  if (problem === '') decoded.exponential = exponential;
  return problem;
}
